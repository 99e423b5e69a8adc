"""Write the tiny fastai language model the import tests read (run with the peers venv).

Usage: .venv-peers/bin/python tests/text/data/make_fastai_fixture.py tests/text/data
Builds fastai 2.8's AWD-LSTM language model (emb 6, hidden 10, 2 layers, 20 words), saves its
state dict as fastai publishes them (torch.save of the state dict), the word list as a pickle,
and fastai's own logits for two token rows in eval mode.
"""

import json
import pickle
import sys
import warnings

import torch
from fastai.text.all import AWD_LSTM, awd_lstm_lm_config, get_language_model

ITOS = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj",
        "the", "film", "was", "great", "boring", ".", ",", "i", "liked", "it", "not"]


def main(out: str) -> None:
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    config = dict(awd_lstm_lm_config, emb_sz=6, n_hid=10, n_layers=2)
    model = get_language_model(AWD_LSTM, len(ITOS), config=config)
    with torch.no_grad():
        for param in model.parameters():
            param.uniform_(-0.5, 0.5)
    model.eval()
    model.reset()
    state = model.state_dict()
    torch.save(state, f"{out}/fastai_tiny_lm.pth")
    with open(f"{out}/fastai_tiny_itos.pkl", "wb") as handle:
        pickle.dump(ITOS, handle)
    tokens = torch.tensor([[2, 8, 9, 10, 11, 12, 14], [2, 16, 17, 18, 15, 19, 13]])
    with torch.no_grad():
        logits = model(tokens)[0]
    expected = {"tokens": tokens.tolist(), "logits": logits.tolist(), "keys": list(state)}
    with open(f"{out}/fastai_tiny_expected.json", "w") as handle:
        json.dump(expected, handle)


if __name__ == "__main__":
    main(sys.argv[1])
