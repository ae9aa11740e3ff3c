"""The command line: `python -m nerve demo` really learns; help and errors are clear."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "nerve", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


def test_demo_learns_two_spirals():
    r = _run("demo", "--spirals")
    assert r.returncode == 0, r.stderr
    assert "loss" in r.stdout and "epoch" in r.stdout
    m = re.search(r"final train accuracy: ([\d.]+)%", r.stdout)
    assert m, r.stdout
    assert float(m.group(1)) >= 95.0
    losses = [float(x) for x in re.findall(r"loss (\d+\.\d+)", r.stdout)]
    assert losses[-1] < 0.25 * losses[0]  # the loss really went down


def test_help_lists_subcommands():
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("demo", "recipes", "run", "report", "sweep"):
        assert cmd in r.stdout


@pytest.mark.parametrize("args, needle", [(("frobnicate",), "invalid choice: 'frobnicate'"),
                                          ((), "a command is required"),
                                          (("demo", "--epochs", "0"), "--epochs")])
def test_bad_commands_fail_clearly(args, needle):
    r = _run(*args)
    assert r.returncode == 2
    assert needle in r.stderr


def test_main_in_process(capsys):
    from nerve.cli import main

    assert main(["demo", "--spirals", "--epochs", "5"]) == 1  # too few epochs to reach 95%: exit code 1
    out = capsys.readouterr().out
    assert "epoch    5" in out and "final train accuracy" in out


def test_demo_cnn_quick_writes_a_run_directory(tmp_path, capsys):
    import json

    from nerve.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Fashion-MNIST, using the" in text and re.search(r"test accuracy: 0\.\d{4}", text)
    m = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= m["ours"]["test_accuracy"] <= 1.0 and m["data_source"]
    for f in ("config.json", "history.csv", "report.html"):
        assert (out / f).exists(), f


def test_recipes_run_and_report_commands(tmp_path, capsys):
    from nerve.cli import main

    assert main(["recipes"]) == 0
    listing = capsys.readouterr().out
    assert "fashion_cnn" in listing and "seed-000-003-004.md" in listing
    out = tmp_path / "run"
    assert main(["run", "spiral_init", "--quick", "--epochs", "2", "--out", str(out)]) == 0
    assert (out / "metrics.json").exists()
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").exists()
    assert main(["run", "no_such_recipe"]) == 2


def test_device_option(tmp_path, capsys):
    """`--device gpu` builds the models on the GPU (here the CuPy stand-in); a bad device is a clear error."""
    from nerve.cli import main

    assert main(["run", "mlogit", "--quick", "--device", "tpu", "--out", str(tmp_path / "x")]) == 2
    assert "--device tpu" in capsys.readouterr().err
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import fakecupy
    fakecupy.install()
    try:
        assert main(["demo", "--quick", "--device", "gpu", "--out", str(tmp_path / "demo")]) == 0
        assert main(["run", "mlogit", "--quick", "--device", "gpu", "--out", str(tmp_path / "run")]) == 0
    finally:
        fakecupy.uninstall()
    assert (tmp_path / "demo" / "metrics.json").exists() and (tmp_path / "run" / "metrics.json").exists()
