"""The training process end to end: 10-class digits, from raw pixels to the best model.

Follows the lecture's recipe on scikit-learn's 8x8 digit images (64 features, 10 classes):

  1. prepare data         normalize every feature with the training statistics
  2. split                train / validation / test, with torch.randperm; 20% of the
                          training labels are made wrong on purpose (see mislabel)
  3. architecture, loss   64-256-256-10 network, cross-entropy on the logits
  4. hyper-parameters     dropout rate, weight decay, batch normalization
  5. learning rate        minibatch SGD (momentum 0.9) through a DataLoader
  6. training loop        keep the model with the best validation loss (early stopping)

Five runs show overfitting and what each regularization technique does about it: no
regularization, dropout, weight decay, batch normalization, and all three with early
stopping that stops for real (patience) and restores the best model (copy.deepcopy).

Run:  python examples/training_process.py [--out DIR] [--quick] [--compile]
      --compile trains through torch.compile(model) (same numbers, faster steps)
Figure: training_curves.png, training vs validation loss per epoch for each run.
"""
import copy
import itertools
import sys

import numpy as np
from sklearn.datasets import load_digits

from _common import Stopwatch, load_backend, parse_args, print_metrics, pyplot, save_figure

torch, nn, F, optim, data = load_backend()

N_TRAIN, N_VALID = 600, 400          # a small training set makes overfitting easy to see
LABEL_NOISE = 0.2                    # fraction of training labels replaced by random ones
BATCH_SIZE = 32


def load_data():
    """Digits split into train/validation/test and normalized with training statistics."""
    X, y = load_digits(return_X_y=True)                   # X: (1797, 64) pixels 0..16
    X = torch.from_numpy(X.astype(np.float32))
    y = torch.from_numpy(y.astype(np.int64))              # class indices for cross-entropy

    order = torch.randperm(len(y)).numpy()                # a random split (seeded)
    train = order[:N_TRAIN]
    valid = order[N_TRAIN:N_TRAIN + N_VALID]
    test = order[N_TRAIN + N_VALID:]

    X_np = X.numpy()
    mean = X_np[train].mean(axis=0)
    std = X_np[train].std(axis=0)
    std[std == 0] = 1.0                                    # border pixels that are always 0
    X_np = (X_np - mean) / std
    y_np = y.numpy()

    def part(rows):
        return torch.from_numpy(X_np[rows]), torch.from_numpy(y_np[rows])

    X_train, y_train = part(train)
    return (X_train, mislabel(y_train, LABEL_NOISE)), part(valid), part(test)


def mislabel(y, fraction, seed=0):
    """Replace a fraction of the labels by random classes.

    The digits labels are nearly perfect, unlike most real data. With noisy training
    labels, a network that drives its training loss to zero has to memorize mistakes,
    and that is overfitting in its purest form. Validation and test labels stay clean.
    """
    rng = np.random.default_rng(seed)
    y = y.numpy().copy()
    noisy = rng.random(len(y)) < fraction
    y[noisy] = rng.integers(0, 10, noisy.sum())
    return torch.from_numpy(y)


def make_model(dropout=0.0, batchnorm=False):
    """64-256-256-10; optional BatchNorm1d after each hidden Linear, Dropout after each ReLU."""
    layers = []
    sizes = [64, 256, 256]
    for n_in, n_out in itertools.pairwise(sizes):
        layers.append(nn.Linear(n_in, n_out))
        if batchnorm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-1], 10))                # 10 logits, one per digit
    return nn.Sequential(*layers)


def evaluate(model, X, y):
    """Loss and accuracy on a whole set, in eval mode (dropout off, batch-norm running stats)."""
    model.eval()
    with torch.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, accuracy


def fit(model, train_set, X_train, y_train, X_valid, y_valid, epochs, lr,
        weight_decay=0.0, patience=None, compile_model=False):
    """Minibatch SGD; remember the best model by validation loss; optionally stop early.

    Returns the per-epoch history and the best model (a deep copy taken at its epoch).
    """
    loader = data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    run = torch.compile(model) if compile_model else model   # same parameters, same results
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()                        # applies log_softmax itself
    history = {"train": [], "valid": []}
    best_loss, best_epoch, best_model = float("inf"), -1, None
    for epoch in range(epochs):
        run.train()                                        # dropout on, batch statistics
        for X_batch, y_batch in loader:
            loss = loss_fn(run(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        train_loss, _ = evaluate(run, X_train, y_train)
        valid_loss, _ = evaluate(run, X_valid, y_valid)
        history["train"].append(train_loss)
        history["valid"].append(valid_loss)
        if valid_loss < best_loss:                         # a new best: keep a copy of it
            best_loss, best_epoch = valid_loss, epoch
            best_model = copy.deepcopy(model)
        elif patience is not None and epoch - best_epoch >= patience:
            print(f"    early stopping at epoch {epoch + 1}: no better validation loss "
                  f"for {patience} epochs")
            break
    history["best_epoch"] = best_epoch
    return history, best_model


def plot_curves(runs, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(3.7 * len(runs), 3.8), sharey=True)
    for ax, (name, run) in zip(axes, runs.items()):
        history = run["history"]
        epochs = np.arange(1, len(history["train"]) + 1)
        ax.plot(epochs, history["train"], label="training loss")
        ax.plot(epochs, history["valid"], label="validation loss")
        best = history["best_epoch"]
        ax.axvline(best + 1, color="gray", ls=":", lw=1)
        ax.plot(best + 1, history["valid"][best], "k*", ms=10, label="best (kept) model")
        ax.set_title(f"{name}\nbest valid loss {history['valid'][best]:.3f} "
                     f"(final {history['valid'][-1]:.3f})", fontsize=9.5)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.2)                 # the first epochs (loss ~2.3) are cut off
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy loss")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Digits, {N_TRAIN} training images ({LABEL_NOISE:.0%} mislabeled): "
                 f"training vs validation loss; validation loss going up = overfitting",
                 y=1.03)
    save_figure(fig, out, "training_curves.png")


def main():
    compile_model = "--compile" in sys.argv
    if compile_model:
        sys.argv.remove("--compile")
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_data()
    X_train, y_train = X_train.to(device), y_train.to(device)
    X_valid, y_valid = X_valid.to(device), y_valid.to(device)
    X_test, y_test = X_test.to(device), y_test.to(device)
    train_set = data.TensorDataset(X_train, y_train)
    print(f"data: {len(y_train)} train ({LABEL_NOISE:.0%} mislabeled), {len(y_valid)} "
          f"validation, {len(y_test)} test digits, 64 features, 10 classes; device {device}")

    epochs = 4 if args.quick else 50
    # name: (dropout, batchnorm, weight decay, patience)
    configs = {
        "no regularization": (0.0, False, 0.0, None),
        "dropout 0.5": (0.5, False, 0.0, None),
        "weight decay 1e-2": (0.0, False, 1e-2, None),
        "batch norm": (0.0, True, 0.0, None),
        "all three + early stop": (0.5, True, 1e-2, 2 if args.quick else 8),
    }
    runs = {}
    print(f"{'run':>24} {'epochs':>7} {'best epoch':>11} {'best valid':>11} "
          f"{'final valid':>12} {'test acc':>9} {'time':>7}")
    for name, (dropout, batchnorm, weight_decay, patience) in configs.items():
        torch.manual_seed(1)                          # the same initial weights draw
        model = make_model(dropout, batchnorm).to(device)
        with Stopwatch() as sw:
            history, best_model = fit(model, train_set, X_train, y_train, X_valid, y_valid,
                                      epochs, lr=0.01, weight_decay=weight_decay,
                                      patience=patience, compile_model=compile_model)
        # Judge the kept (best-validation) model on data it has never influenced.
        _, test_acc = evaluate(best_model, X_test, y_test)
        runs[name] = {"history": history, "test_acc": test_acc}
        best = history["best_epoch"]
        print(f"{name:>24} {len(history['train']):7d} {best + 1:11d} "
              f"{history['valid'][best]:11.4f} {history['valid'][-1]:12.4f} "
              f"{test_acc:9.3f} {sw.seconds:6.2f}s")

    # The kept model can be saved and restored through its state_dict.
    final = make_model(0.5, True).to(device)
    final.load_state_dict(best_model.state_dict())
    _, restored_acc = evaluate(final, X_test, y_test)
    print(f"best model of the last run, restored from its state_dict: test accuracy "
          f"{restored_acc:.3f}")

    plot_curves(runs, args.out)
    print_metrics(
        no_regularization_test_accuracy=runs["no regularization"]["test_acc"],
        dropout_test_accuracy=runs["dropout 0.5"]["test_acc"],
        weight_decay_test_accuracy=runs["weight decay 1e-2"]["test_acc"],
        batchnorm_test_accuracy=runs["batch norm"]["test_acc"],
        early_stopping_test_accuracy=runs["all three + early stop"]["test_acc"],
        no_regularization_valid_loss_rise=(runs["no regularization"]["history"]["valid"][-1]
                                           - min(runs["no regularization"]["history"]["valid"])),
    )


if __name__ == "__main__":
    main()
