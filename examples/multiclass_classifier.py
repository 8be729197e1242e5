"""k-class classifiers: a k-neuron last layer, softmax, and cross-entropy (log loss).

All three wine cultivars of scikit-learn's wine data, from proline and alcohol. Two
models, both ending in k = 3 neurons, one per class:

  softmax regression   Linear(2, 3)                        straight region borders
  2-10-10-3 network    a Module subclass using F.relu      curved region borders

Run:  python examples/multiclass_classifier.py [--out DIR] [--quick]
Figure: multiclass_decision_regions.png, the predicted class over the feature plane.
"""
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

from _common import load_backend, parse_args, print_metrics, pyplot, save_figure, train_classifiers

torch, nn, F, optim, data = load_backend()

FEATURES = ["proline", "alcohol"]
K = 3                                          # number of classes


class WineNet(nn.Module):
    """2-10-10-3: two ReLU layers, then k = 3 neurons whose outputs z are the logits."""

    def __init__(self, n_features, n_hidden, n_classes):
        super().__init__()
        self.layer1 = nn.Linear(n_features, n_hidden)
        self.layer2 = nn.Linear(n_hidden, n_hidden)
        self.layer3 = nn.Linear(n_hidden, n_classes)   # k neurons: one score per class

    def forward(self, x):
        a1 = F.relu(self.layer1(x))
        a2 = F.relu(self.layer2(a1))
        return self.layer3(a2)                         # z; softmax(z) = probabilities


def softmax_by_hand():
    """The lecture's sample softmax computation, in numpy and with the library."""
    z = np.array([0.1, 1, 5])
    print(f"softmax by hand: z = {z}")
    print(f"  np.exp(z)                    = {np.exp(z)}")
    print(f"  np.exp(z) / np.sum(np.exp(z)) = {np.exp(z) / np.sum(np.exp(z))}")
    print(f"  F.softmax(z, dim=0)          = "
          f"{F.softmax(torch.tensor(z, dtype=torch.float32), dim=0).numpy()}")


def load_data(seed=0):
    """All three wine classes, features proline and alcohol, in original units (numpy)."""
    wine = load_wine()
    columns = [wine.feature_names.index(name) for name in FEATURES]
    X = wine.data[:, columns]
    return train_test_split(X, wine.target, test_size=0.25, stratify=wine.target,
                            random_state=seed)


def train(model, X, y, epochs, lr):
    """Full-batch training with cross-entropy.

    The lecture writes ``loss = cross_entropy(y_softmax, y_true)``. In PyTorch (and
    microtorch) CrossEntropyLoss applies log_softmax itself, so the model returns the
    logits z and we never call softmax during training; softmax is for predicting.
    """
    cross_entropy = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        z = model(X)                        # logits, shape (n, k)
        loss = cross_entropy(z, y)          # y: int64 class indices 0..k-1, shape (n,)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def check_cross_entropy(model, X, y):
    """cross_entropy(z, y) is the mean of -log(softmax(z)[true class]): the log loss."""
    with torch.no_grad():
        z = model(X)
        probs = nn.Softmax(dim=1)(z).numpy()
        library = F.cross_entropy(z, y).item()
    by_hand = -np.log(probs[np.arange(len(probs)), y.numpy()]).mean()
    print(f"  log loss: F.cross_entropy(logits) {library:.4f}, "
          f"-mean(log p[true class]) by hand {by_hand:.4f}")


def predict(model, X):
    """Class probabilities with softmax, and the predicted class with argmax."""
    softmax = nn.Softmax(dim=1)
    with torch.no_grad():
        y_softmax = softmax(model(X))                  # each row sums to 1
        y_pred = torch.argmax(y_softmax, axis=1)       # most likely class
    return y_softmax, y_pred


def accuracy(model, X, y):
    _, y_pred = predict(model, X)
    return (y_pred.numpy() == y).mean()


def plot_regions(models, results, X_train, y_train, X_valid, y_valid, normalize, out):
    plt = pyplot()
    from matplotlib.colors import to_rgb
    colors = ["tab:blue", "tab:orange", "tab:green"]
    X_all = np.vstack([X_train, X_valid])
    lo, hi = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.08 * (hi - lo)
    g0, g1 = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 300),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 300))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    fig, axes = plt.subplots(1, len(models), figsize=(5.6 * len(models), 4.6),
                             sharex=True, sharey=True)
    for ax, (name, model) in zip(axes, models.items()):
        probs, pred = predict(model, normalize(grid))
        pred = pred.numpy().reshape(g0.shape)
        confidence = probs.numpy().max(axis=1).reshape(g0.shape)
        # Colour: the predicted class; opacity: how sure the model is (max probability,
        # from 1/k = a guess, to 1 = certain).
        image = np.zeros(g0.shape + (4,))
        image[..., :3] = np.array([to_rgb(c) for c in colors])[pred]
        image[..., 3] = 0.1 + 0.5 * (confidence - 1 / K) / (1 - 1 / K)
        ax.imshow(image, origin="lower", aspect="auto",
                  extent=(g0.min(), g0.max(), g1.min(), g1.max()))
        ax.contour(g0, g1, pred, levels=[0.5, 1.5], colors="k", linewidths=1.2)
        for X, y, marker, label in [(X_train, y_train, "o", "train"),
                                    (X_valid, y_valid, "^", "validation")]:
            ax.scatter(X[:, 0], X[:, 1], c=[colors[c] for c in y], marker=marker, s=30,
                       edgecolors="k", linewidths=0.6)
            ax.scatter([], [], c="lightgray", marker=marker, edgecolors="k", label=label)
        train_acc, valid_acc = results[name]
        ax.set_title(f"{name}\ntrain acc {train_acc:.3f}, valid acc {valid_acc:.3f}",
                     fontsize=10)
        ax.set_xlabel(FEATURES[0])
    axes[0].set_ylabel(FEATURES[1])
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Wine, 3 classes (blue 0, orange 1, green 2): predicted class = argmax "
                 "softmax;\npaler where the model is less sure (lower max probability)",
                 y=1.08)
    save_figure(fig, out, "multiclass_decision_regions.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    softmax_by_hand()

    X_train_raw, X_valid_raw, y_train, y_valid = load_data()
    print(f"data: {len(X_train_raw)} training and {len(X_valid_raw)} validation wines, "
          f"features {FEATURES}, classes {np.bincount(y_train)} (train)")
    mean, std = X_train_raw.mean(axis=0), X_train_raw.std(axis=0)

    def normalize(X):
        return torch.from_numpy(((X - mean) / std).astype(np.float32))

    X_train, X_valid = normalize(X_train_raw), normalize(X_valid_raw)
    y_train_t = torch.from_numpy(y_train.astype(np.int64))   # class indices: int64

    chance = np.bincount(y_valid).max() / len(y_valid)
    print(f"baseline (always predict the majority class): valid accuracy {chance:.3f}")

    models = {"softmax regression": nn.Sequential(nn.Linear(2, K)),
              "2-10-10-3 network": WineNet(2, 10, K)}
    schedule = {"softmax regression": (500, 0.05), "2-10-10-3 network": (300, 0.02)}
    results = train_classifiers(
        models, schedule, args.quick,
        fit=lambda model, epochs, lr: train(model, X_train, y_train_t, epochs, lr),
        score=lambda model: (accuracy(model, X_train, y_train), accuracy(model, X_valid, y_valid)))
    for model in models.values():
        check_cross_entropy(model, X_train, y_train_t)

    probs, _ = predict(models["2-10-10-3 network"], normalize(X_valid_raw[:3]))
    print("softmax probabilities of the first 3 validation wines (network):")
    for row, true in zip(probs.numpy(), y_valid[:3]):
        print(f"  {np.array2string(row, precision=3, suppress_small=True)}  "
              f"sum {row.sum():.3f}, true class {true}")

    plot_regions(models, results, X_train_raw, y_train, X_valid_raw, y_valid, normalize,
                 args.out)
    print_metrics(baseline_valid_accuracy=chance,
                  softmax_regression_valid_accuracy=results["softmax regression"][1],
                  network_valid_accuracy=results["2-10-10-3 network"][1])


if __name__ == "__main__":
    main()
