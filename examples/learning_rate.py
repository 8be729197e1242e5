"""The learning rate: too small crawls, a good one converges, too large diverges.

Gradient descent steps every parameter against its gradient, amplified by the learning
rate:  beta = beta - rate * gradient(beta). We train the same network (same initial
weights) on scikit-learn's diabetes data (10 features, normalized) with plain full-batch
gradient descent and three learning rates:

  too small   the loss barely moves in the epochs we can afford
  good        the loss drops quickly and settles
  too large   each step overshoots the valley, lands higher up the other side, and the
              loss explodes to inf/nan (diverges)

Run:  python examples/learning_rate.py [--out DIR] [--quick]
Figure: learning_rate.png, training loss per epoch (log scale) for each learning rate.
"""
import math

import numpy as np
from sklearn.datasets import load_diabetes

from _common import Stopwatch, load_backend, parse_args, print_metrics, pyplot, save_figure

torch, nn, F, optim, data = load_backend()

LEARNING_RATES = {"too small": 1e-4, "good": 0.1, "too large": 1.0}


def load_data():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    return (torch.from_numpy(X.astype(np.float32)),
            torch.from_numpy(y.astype(np.float32).reshape(-1, 1)))


def make_model():
    return nn.Sequential(
        nn.Linear(10, 32),
        nn.ReLU(),
        nn.Linear(32, 1),
    )


def train(model, X, y, epochs, lr):
    """Full-batch gradient descent; stop at the first non-finite loss (divergence)."""
    mse = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        loss = mse(model(X), y)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break                                # inf or nan: nothing more to learn
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def plot(curves, epochs, out):
    plt = pyplot()
    fig, (ax_all, ax_zoom) = plt.subplots(1, 2, figsize=(13, 4.6))
    for (name, lr), losses in curves.items():
        losses = np.array(losses)
        finite = np.isfinite(losses)
        steps = np.arange(len(losses))
        for ax in (ax_all, ax_zoom):
            line, = ax.plot(steps[finite], losses[finite], lw=2, label=f"{name}: lr = {lr:g}")
        if not finite.all():
            # Diverged: a log axis cannot show inf/nan, so draw the curve up to the last
            # finite loss and mark the point where the loss blew up.
            last = steps[finite][-1]
            ax_all.plot([last], [losses[finite][-1]], "o", color=line.get_color())
            ax_all.annotate(f"diverged: loss = {losses[~finite][0]} at epoch "
                            f"{steps[~finite][0]}", xy=(last, losses[finite][-1]),
                            xytext=(12, -4), textcoords="offset points",
                            color=line.get_color(), fontsize=9)
    ax_all.set_title("all losses: the large rate explodes")
    ax_zoom.set_ylim(0.3, 1.6)
    ax_zoom.set_title("zoomed in: too small crawls, good converges")
    for ax in (ax_all, ax_zoom):
        ax.set_yscale("log")
        ax.set_xlim(-1, epochs)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
    ax_all.set_ylabel("training MSE (log scale)")
    ax_zoom.legend()
    fig.suptitle("Same model, same start, three learning rates (plain gradient descent)")
    save_figure(fig, out, "learning_rate.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    X, y = load_data()
    epochs = 40 if args.quick else 300
    print(f"data: {len(X)} instances, {X.shape[1]} features; {epochs} epochs of full-batch "
          f"gradient descent each")

    curves = {}
    final = {}
    for name, lr in LEARNING_RATES.items():
        torch.manual_seed(0)                     # the same initial weights for every run
        model = make_model()
        with Stopwatch() as sw:
            losses = train(model, X, y, epochs, lr)
        curves[(name, lr)] = losses
        final[name] = losses[-1]
        status = (f"diverged at epoch {len(losses) - 1}" if not math.isfinite(losses[-1])
                  else f"{len(losses)} epochs")
        print(f"{name:>10}  lr = {lr:<7g} first loss {losses[0]:8.4f}  "
              f"min loss {np.nanmin(losses):8.4f}  last loss {losses[-1]:10.4g}  "
              f"({status}, {sw.seconds:.2f}s)")

    plot(curves, epochs, args.out)
    # 1.0 would be predicting the mean: the loss of the good rate must end well below it.
    print_metrics(too_small_final_loss=final["too small"], good_final_loss=final["good"],
                  too_large_final_loss=final["too large"],
                  too_large_diverged=float(not math.isfinite(final["too large"])))


if __name__ == "__main__":
    main()
