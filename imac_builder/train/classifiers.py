"""The reference row of Table 4: per-modality classifiers combined by agreement.

Two multinomial logistic regressions (scikit-learn's ``LogisticRegression``, lbfgs, on
standardised features), one per modality, each trained on the training split's class
labels; a pair is called true when the two predicted classes agree. It uses the class
labels that the paper's ACP-Net never sees, so it belongs beside "ACP-Net + class heads",
and it bounds what a label-using model should reach on these features.
"""

from __future__ import annotations

import numpy as np

from .data import TrainData


def _fit_predict(x: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = x.reshape(len(x), -1).astype(np.float32, copy=False)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1,
                                                             random_state=seed))
    clf.fit(x[train], y[train])
    return clf.predict(x)


def agreement_reference(data: TrainData, split: str = "test", seed: int = 0) -> dict:
    """Pair accuracy of the agreement rule on ``data.pairs[split]``, each classifier's
    accuracy on the split's items, and per-pair correctness (``correct``)."""
    il = data.image_label.cpu().numpy()
    ml = data.music_label.cpu().numpy()
    pi = _fit_predict(data.image_x.cpu().numpy(), il, data.image_split["train"].cpu().numpy(),
                      seed)
    pm = _fit_predict(data.music_x.cpu().numpy(), ml, data.music_split["train"].cpu().numpy(),
                      seed)
    pairs = data.pairs[split]
    a, b = pairs.image.cpu().numpy(), pairs.music.cpu().numpy()
    pred = (pi[a] == pm[b]).astype(int)
    correct = pred == pairs.target.cpu().numpy()
    ri, rm = data.image_split[split].cpu().numpy(), data.music_split[split].cpu().numpy()
    return {"pair_accuracy": float(correct.mean()) if len(correct) else float("nan"),
            "image_accuracy": float((pi[ri] == il[ri]).mean()),
            "music_accuracy": float((pm[rm] == ml[rm]).mean()),
            "correct": correct}
