"""Prefetching a hub model with progress. The hub cannot be reached here, so its two calls are
stood in for as they behave: ``model_info`` lists the files with sizes, and
``snapshot_download`` writes each file into the cache's blob folder (as ``.incomplete`` until
done), taking a while."""

from __future__ import annotations

import time
from types import SimpleNamespace

import huggingface_hub
import pytest

from engine.errors import BackpropError
from engine.models import fetch_model

FILES = {"config.json": 700, "model-00001-of-00002.safetensors": 6000,
         "model-00002-of-00002.safetensors": 4000, "tokenizer.json": 1300,
         "pytorch_model.bin": 10_000, "README.md": 100}


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    calls = {"patterns": None}
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    def model_info(self, repo_id, files_metadata=False, **kw):
        assert files_metadata
        if repo_id == "org/missing":
            raise huggingface_hub.errors.RepositoryNotFoundError("404 Client Error")
        siblings = [SimpleNamespace(rfilename=n, size=s) for n, s in FILES.items()]
        return SimpleNamespace(sha="abc123", siblings=siblings)

    def snapshot_download(repo_id, revision=None, allow_patterns=None, **kw):
        import fnmatch

        calls["patterns"] = allow_patterns
        blobs = tmp_path / "hub" / f"models--{repo_id.replace('/', '--')}" / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        for i, (name, size) in enumerate(FILES.items()):
            if not any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                continue
            part = blobs / f"blob{i}.incomplete"
            for _ in range(3):
                with part.open("ab") as handle:
                    handle.write(b"x" * (size // 3))
                time.sleep(0.02)
            if repo_id == "org/broken" and name.endswith(".safetensors"):
                raise OSError("[Errno 28] No space left on device")
            part.write_bytes(b"x" * size)
            part.rename(blobs / f"blob{i}")
        return str(tmp_path / "hub" / "snapshot")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_progress_counts_the_bytes_arriving_in_the_cache(fake_hub):
    seen = []
    fetch_model("org/model", lambda done, total: seen.append((done, total)), every_s=0.01)
    needed = 700 + 6000 + 4000 + 1300  # the .bin and the README are not fetched
    assert seen[-1] == (needed, needed)
    assert len(seen) > 3 and all(total == needed for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and 0 < seen[1][0] < needed
    assert "*.bin" not in fake_hub["patterns"] and "*.safetensors" in fake_hub["patterns"]


def test_a_download_that_stops_part_way_says_how_far_it_got(fake_hub):
    with pytest.raises(BackpropError) as info:
        fetch_model("org/broken", lambda done, total: None, every_s=0.01)
    assert info.value.code == "MODEL_DOWNLOAD_FAILED"
    assert "No space left on device" in info.value.message and " of 0.0 GB" in info.value.message


def test_folders_unknown_ids_and_offline_machines_are_left_to_the_loaders(fake_hub, tmp_path,
                                                                          monkeypatch):
    seen = []
    fetch_model(str(tmp_path), lambda *a: seen.append(a))
    fetch_model("org/missing", lambda *a: seen.append(a))  # from_pretrained will say why
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fetch_model("org/model", lambda *a: seen.append(a))
    assert seen == [] and fake_hub["patterns"] is None
