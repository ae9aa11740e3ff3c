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
    r = _run("demo")
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
    assert "demo" in r.stdout


@pytest.mark.parametrize("args, needle", [(("frobnicate",), "invalid choice: 'frobnicate'"),
                                          ((), "a command is required"),
                                          (("demo", "--epochs", "0"), "--epochs")])
def test_bad_commands_fail_clearly(args, needle):
    r = _run(*args)
    assert r.returncode == 2
    assert needle in r.stderr


def test_main_in_process(capsys):
    from nerve.cli import main

    assert main(["demo", "--epochs", "5"]) == 1  # 5 epochs are too few to reach 95%: exit code 1
    out = capsys.readouterr().out
    assert "epoch    5" in out and "final train accuracy" in out
