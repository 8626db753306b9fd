"""Publishing an experiment: a model card and a model file that load by name and through a Hugging Face id."""
import json

import torch


def test_published_hub_folder_loads_through_a_hugging_face_id(demo_run, tmp_path, monkeypatch):
    import huggingface_hub

    from asteroid_deepmask import DeepMaskDPRNNTasNet
    from asteroid_deepmask.reporting.publish import publish

    exp = demo_run / "exp" / "deepmask_2src"
    publish(exp, "toy-demo", tmp_path / "hub", hub_layout=True)
    assert sorted(p.name for p in (tmp_path / "hub").iterdir()) == ["README.md", "pytorch_model.bin"]
    asked = {}

    def fake_download(repo_id, filename, **kwargs):  # the Hub, served from the uploaded folder
        asked.update(repo_id=repo_id, filename=filename)
        return str(tmp_path / "hub" / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    model = DeepMaskDPRNNTasNet.from_pretrained("someone/toy-demo").eval()
    assert asked == {"repo_id": "someone/toy-demo", "filename": "pytorch_model.bin"}
    reference = DeepMaskDPRNNTasNet.from_pretrained(str(exp / "best_model.pth")).eval()
    wav = torch.randn(1, 4000)
    torch.testing.assert_close(model(wav), reference(wav), rtol=0, atol=0)


def test_published_model_loads_by_name_with_its_card(demo_run, tmp_path, monkeypatch):
    from asteroid_deepmask import DeepMaskDPRNNTasNet
    from asteroid_deepmask.models import loading
    from asteroid_deepmask.reporting.publish import publish

    exp = demo_run / "exp" / "deepmask_2src"
    card = publish(exp, "toy-demo", tmp_path / "pretrained", notes="- trained on a toy corpus")
    text = card.read_text()
    assert "SI-SDRi" in text and "run.sh" in text and '"n_mixtures": 8' in text
    assert "## Notes\n\n- trained on a toy corpus\n" in text
    # The corpus settings come from what training recorded, not from wherever the data is now.
    recorded = json.loads((exp / "corpus.json").read_text())
    assert recorded["train_dir"]["n_mixtures"] == 8 and recorded["test_dir"]["split"] == "tt"
    monkeypatch.setattr(loading, "PRETRAINED_DIR", tmp_path / "pretrained")
    model = DeepMaskDPRNNTasNet.from_pretrained("toy-demo").eval()
    reference = DeepMaskDPRNNTasNet.from_pretrained(str(exp / "best_model.pth")).eval()
    wav = torch.randn(1, 4000)
    torch.testing.assert_close(model(wav), reference(wav), rtol=0, atol=0)
