"""pretrain_lm and its corpora; pretrained language models fetched over HTTP with a checksum."""

import pytest

from briskml.datasets import synthetic_reviews
from briskml.download import DownloadError, sha256_of
from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.text import TextData, language_model_learner, pretrain_lm
from briskml.text.pretrain import read_corpus, split_documents
from tests.cli.local_server import OFFLINE_URL, serve_folder

TINY = dict(emb_sz=16, n_hid=24, n_layers=1)
WIKITEXT = "\n".join([  # WikiText's layout, trailing spaces included
    "", " = Valkyria Chronicles = ", "", " Senjō no Valkyria is a role @-@ playing game . ",
    "", " = = Gameplay = = ", "", " The game is played in turns . ", "", " = Tropical Storm = ", "",
    " A storm formed in the Atlantic . ", ""])


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny language model pretrained on synthetic reviews and exported."""
    out = tmp_path_factory.mktemp("pre") / "lm.brisk"
    learn = pretrain_lm(synthetic_reviews(200, seed=5)["text"].tolist(), out, config=TINY,
                        epochs=1, lr=1e-2, bs=8, seq_len=16, seed=0, progress=False)
    return out, learn


def test_wikitext_is_split_into_articles_with_their_sections():
    documents = split_documents(WIKITEXT)
    assert len(documents) == 2
    assert "Gameplay" in documents[0] and "turns" in documents[0]
    assert documents[1].strip().startswith("= Tropical Storm =")


def test_other_text_is_split_into_paragraphs_and_folders_into_files(tmp_path):
    assert split_documents("One para.\nstill one.\n\nTwo.\n  \nThree.") == [
        "One para.\nstill one.", "Two.", "Three."]
    (tmp_path / "a.txt").write_text("first file")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("second file")
    assert read_corpus(tmp_path) == ["first file", "second file"]


def test_bad_corpora_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        read_corpus(tmp_path / "missing.txt")
    with pytest.raises(DataError, match=r"holds no \.txt files"):
        read_corpus(tmp_path)
    with pytest.raises(DataError, match="corpus is empty"):
        read_corpus([])


def test_pretraining_exports_a_model_that_feeds_pretrained(pretrained):
    out, learn = pretrained
    assert out.is_file()
    assert learn.recorder.values[-1]["valid_loss"] < learn.recorder.values[0]["train_loss"]
    data = TextData.from_df(synthetic_reviews(80, seed=6), "text", for_lm=True, seed=0, bs=8,
                            seq_len=16)
    fine_tuned = language_model_learner(data, pretrained=out, progress=False)
    assert fine_tuned.config.emb_sz == 16 and fine_tuned.config.n_layers == 1


def test_an_existing_output_is_refused_before_training(pretrained):
    out, _ = pretrained
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        pretrain_lm(["never tokenised"], out, config=TINY)
    assert out.read_bytes() == before


def test_a_pretrained_url_is_downloaded_once_and_checked(pretrained, tmp_path, monkeypatch):
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path / "cache"))
    out, _ = pretrained
    served = tmp_path / "served"
    served.mkdir()
    for name in ("lm.brisk", "other.brisk"):
        (served / name).write_bytes(out.read_bytes())
    data = TextData.from_df(synthetic_reviews(80, seed=6), "text", for_lm=True, seed=0, bs=8,
                            seq_len=16)
    digest = sha256_of(out)
    with serve_folder(served) as (base, requests):
        url = f"{base}/lm.brisk#sha256={digest}"
        first = language_model_learner(data, pretrained=url, progress=False)
        language_model_learner(data, pretrained=url, progress=False)
        assert requests == ["/lm.brisk"]   # the second call used the cache
        with pytest.raises(DownloadError, match="sha256"):
            language_model_learner(data, pretrained=f"{base}/other.brisk#sha256={'0' * 64}")
    assert first.config.emb_sz == 16
    assert not list((tmp_path / "cache").rglob("other.brisk"))   # a bad download is not kept


def test_bad_pretrained_urls_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path / "cache"))
    data = TextData.from_df(synthetic_reviews(40, seed=6), "text", for_lm=True, seed=0, bs=4,
                            seq_len=8)
    with pytest.raises(ConfigError, match="#sha256=<64 hex digits>"):
        language_model_learner(data, pretrained="http://127.0.0.1:9/lm.brisk#md5=abc")
    with pytest.raises(DownloadError, match="put it at"):
        language_model_learner(data, pretrained=f"{OFFLINE_URL}/lm.brisk")


def test_a_model_of_the_other_direction_is_refused(pretrained, tmp_path):
    out, _ = pretrained
    backwards = TextData.from_df(synthetic_reviews(80, seed=6), "text", for_lm=True, seed=0,
                                 bs=8, seq_len=16, backwards=True)
    with pytest.raises(ConfigError, match=r"trained reading text forwards.*backwards=False"):
        language_model_learner(backwards, pretrained=out)
    backward_out = tmp_path / "bwd.brisk"
    backward_learn = pretrain_lm(synthetic_reviews(60, seed=7)["text"].tolist(), backward_out,
                                 config=TINY, epochs=1, bs=8, seq_len=16, seed=0,
                                 backwards=True, progress=False, path=tmp_path)
    assert backward_learn.backwards
    encoder = backward_learn.save_encoder("bwd_enc")
    assert language_model_learner(backwards, pretrained=backward_out, progress=False).backwards
    same_words = TextData.from_df(synthetic_reviews(60, seed=7), "text", for_lm=True, seed=0,
                                  bs=8, seq_len=16, vocab=backward_learn.vocab)
    forward = language_model_learner(same_words, config=TINY, progress=False)
    with pytest.raises(ConfigError, match="backwards=True"):
        forward.load_encoder(encoder)


def test_a_corpus_that_is_not_utf8_is_refused_unless_asked_to_replace(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"first file")
    (tmp_path / "b.txt").write_bytes(b"line one\nsecond caf\xe9")
    with pytest.raises(DataError, match=r"b\.txt' is not valid UTF-8: the byte\(s\) 0xE9 at "
                                        r"byte offset 19 \(line 2\)"):
        read_corpus(tmp_path)
    with pytest.warns(BriskWarning, match=r"1 file\(s\) are not valid UTF-8: '.*b\.txt'"):
        assert read_corpus(tmp_path, encoding_errors="replace")[1] == "line one\nsecond caf\ufffd"
    with pytest.raises(DataError, match=r"byte offset 19"):
        read_corpus(tmp_path / "b.txt")
    with pytest.raises(DataError, match="not valid UTF-8"):
        pretrain_lm(tmp_path, tmp_path / "out.brisk", config=TINY, progress=False)
    assert not (tmp_path / "out.brisk").exists()


def test_a_corpus_list_leaves_missing_and_empty_texts_out_and_says_so():
    with pytest.warns(BriskWarning, match=r"3 of 5 texts are missing or empty .* left out of the "
                                          "corpus"):
        assert read_corpus(["One.", None, float("nan"), "  ", "Two."]) == ["One.", "Two."]
