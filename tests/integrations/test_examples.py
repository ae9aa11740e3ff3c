"""The book's GridSearchCV over make_widenet (seed-001-part2 §1.16), small, through SKLearnClassifier."""
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install nerve[sklearn])")

from nerve.integrations.examples import QUICK_GRID, make_widenet, wide_deep_grid_search  # noqa: E402


def test_make_widenet_is_the_books_factory():
    m = make_widenet(dr=0.2, optimizer="rmsprop", lr=0.01, units=8, input_dim=3072)
    assert [l.units for l in m.layers if hasattr(l, "units")] == [8, 8, 10]
    assert type(m.optimizer).__name__ == "RMSprop" and abs(float(m.optimizer.learning_rate) - 0.01) < 1e-9
    assert m.count_params() == 3072 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10


def test_wide_deep_grid_search_small():
    gs = wide_deep_grid_search(quick=True, n_samples=160, epochs=2, cv=2)
    assert set(gs.best_params_) == {f"model__{k}" for k in QUICK_GRID}
    assert len(gs.cv_results_["params"]) == 16
    assert 0.0 <= gs.best_score_ <= 1.0 and gs.best_score_ > 0.2  # 10 classes: chance is 0.1
    assert "val_loss" in gs.best_estimator_.history_  # validation_split reached Model.fit
