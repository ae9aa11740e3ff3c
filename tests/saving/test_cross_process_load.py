"""A compiled model saved in one process loads in a fresh one (built-in classes register lazily)."""
import subprocess
import sys
import textwrap


def test_compiled_model_loads_in_a_fresh_process(tmp_path):
    path = tmp_path / "m.keras"
    save = textwrap.dedent(f"""
        import numpy as np, nerve
        m = nerve.Sequential([nerve.layers.Input((3,)), nerve.layers.Dense(2)])
        m.compile(nerve.optimizers.Adam(0.01), 'mse', metrics=['mae'])
        m.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
        m.save({str(path)!r})
        np.save({str(tmp_path / 'p.npy')!r}, m.predict(np.ones((2, 3)), verbose=0))
    """)
    load = textwrap.dedent(f"""
        import numpy as np, nerve
        m = nerve.models.load_model({str(path)!r})
        assert type(m.optimizer).__name__ == 'Adam', m.optimizer
        np.testing.assert_array_equal(m.predict(np.ones((2, 3)), verbose=0), np.load({str(tmp_path / 'p.npy')!r}))
        print('ok')
    """)
    subprocess.run([sys.executable, "-c", save], check=True)
    out = subprocess.run([sys.executable, "-c", load], check=True, capture_output=True, text=True)
    assert out.stdout.strip().endswith("ok")
