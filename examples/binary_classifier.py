"""Binary classifiers: add a sigmoid to a regressor and get the probability of class 1.

Two of the three wine cultivars in scikit-learn's wine data (classes 0 and 1), told apart
by two features, proline and alcohol. Three models, each ending in a sigmoid:

  logistic regression   Linear(2, 1) + Sigmoid             a straight decision line
  2-3-1 sigmoid net     one hidden layer of 3 sigmoids     a curved decision line
  2-10-10-1 ReLU net    two hidden layers of 10 ReLUs      curvy, maybe overfit

Run:  python examples/binary_classifier.py [--out DIR] [--quick]
Figure: binary_decision_surfaces.png, P(class 1) over the feature plane, side by side.
"""
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

from _common import load_backend, parse_args, print_metrics, pyplot, save_figure, train_classifiers

torch, nn, F, optim, data = load_backend()

FEATURES = ["proline", "alcohol"]


def load_data(seed=0):
    """Wine classes 0 and 1, features proline and alcohol, in original units (numpy)."""
    wine = load_wine()
    columns = [wine.feature_names.index(name) for name in FEATURES]
    keep = wine.target < 2                       # two of the three classes
    X = wine.data[keep][:, columns]
    y = wine.target[keep]
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)


def make_models():
    """The lecture's three binary classifiers; the last layer is always a sigmoid."""
    return {
        "logistic regression": nn.Sequential(
            nn.Linear(2, 1),
            nn.Sigmoid(),
        ),
        "2-3-1 sigmoid": nn.Sequential(
            nn.Linear(2, 3),
            nn.Sigmoid(),
            nn.Linear(3, 1),
            nn.Sigmoid(),
        ),
        "2-10-10-1 ReLU": nn.Sequential(
            nn.Linear(2, 10),
            nn.ReLU(),
            nn.Linear(10, 10),
            nn.ReLU(),
            nn.Linear(10, 1),
            nn.Sigmoid(),                        # last activation must still be a sigmoid
        ),
    }


def train(model, X, y, epochs, lr):
    """Full-batch training with log loss; BCELoss wants probabilities and float targets."""
    bce = nn.BCELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        p = model(X)                             # P(y = 1), shape (n, 1)
        loss = bce(p, y)                         # y: float 0./1., shape (n, 1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def accuracy(model, X, y):
    with torch.no_grad():
        y_pred = (model(X).numpy() > 0.5).astype(int)   # predict class 1 when p > 0.5
    return (y_pred.ravel() == y).mean()


def plot_surfaces(models, results, X_train, y_train, X_valid, y_valid, normalize, out):
    plt = pyplot()
    X_all = np.vstack([X_train, X_valid])
    lo, hi = X_all.min(axis=0), X_all.max(axis=0)
    pad = 0.08 * (hi - lo)
    g0, g1 = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 250),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], 250))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.4),
                             sharex=True, sharey=True)
    for ax, (name, model) in zip(axes, models.items()):
        with torch.no_grad():
            p = model(normalize(grid)).numpy().reshape(g0.shape)
        surface = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="coolwarm",
                              alpha=0.75)
        ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1.5)
        for X, y, marker, label in [(X_train, y_train, "o", "train"),
                                    (X_valid, y_valid, "^", "validation")]:
            ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", vmin=0, vmax=1,
                       marker=marker, s=28, edgecolors="k", linewidths=0.6, label=label)
        train_acc, valid_acc = results[name]
        ax.set_title(f"{name}\ntrain acc {train_acc:.3f}, valid acc {valid_acc:.3f}",
                     fontsize=10)
        ax.set_xlabel(FEATURES[0])
    axes[0].set_ylabel(FEATURES[1])
    axes[0].legend(loc="lower right", fontsize=8)
    fig.colorbar(surface, ax=list(axes), label="P(class 1)", shrink=0.9)
    fig.suptitle("Wine, class 0 (blue) vs class 1 (red): decision surfaces; "
                 "black line: P = 0.5", y=1.02)
    save_figure(fig, out, "binary_decision_surfaces.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    X_train_raw, X_valid_raw, y_train, y_valid = load_data()
    print(f"data: {len(X_train_raw)} training and {len(X_valid_raw)} validation wines, "
          f"features {FEATURES}, class balance {np.bincount(y_train)} (train)")

    # Normalize with training statistics: proline is in the hundreds, alcohol around 13.
    mean, std = X_train_raw.mean(axis=0), X_train_raw.std(axis=0)

    def normalize(X):
        return torch.from_numpy(((X - mean) / std).astype(np.float32))

    X_train, X_valid = normalize(X_train_raw), normalize(X_valid_raw)
    # BCELoss targets: float, one column, the same shape as the model's output.
    y_train_t = torch.from_numpy(y_train.astype(np.float32).reshape(-1, 1))

    majority = max(np.mean(y_valid == 0), np.mean(y_valid == 1))
    print(f"baseline (always predict the majority class): valid accuracy {majority:.3f}")

    schedule = {"logistic regression": (500, 0.05), "2-3-1 sigmoid": (1000, 0.05),
                "2-10-10-1 ReLU": (1000, 0.02)}
    models = make_models()
    results = train_classifiers(
        models, schedule, args.quick,
        fit=lambda model, epochs, lr: train(model, X_train, y_train_t, epochs, lr),
        score=lambda model: (accuracy(model, X_train, y_train), accuracy(model, X_valid, y_valid)))

    plot_surfaces(models, results, X_train_raw, y_train, X_valid_raw, y_valid, normalize,
                  args.out)
    print_metrics(baseline_valid_accuracy=majority,
                  logistic_valid_accuracy=results["logistic regression"][1],
                  sigmoid_2_3_1_valid_accuracy=results["2-3-1 sigmoid"][1],
                  relu_2_10_10_1_valid_accuracy=results["2-10-10-1 ReLU"][1])


if __name__ == "__main__":
    main()
