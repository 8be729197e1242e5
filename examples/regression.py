"""Deep learning regressors: from a line to an over-powered network.

One feature of scikit-learn's diabetes data, body-mass index (bmi), predicts disease
progression one year later. We fit the lecture's five models to it:

  linear               nn.Linear(1, 1)                         a line
  linear stack         nn.Linear(1, 1), nn.Linear(1, 1)        still a line!
  Linear-ReLU-Linear   one ReLU neuron                         two lines, clipped
  1-5-2-1              the lecture's network                   a bent line
  1-1000-1             3001 parameters for 354 points          fits the noise

Run:  python examples/regression.py [--out DIR] [--quick]
Figure: regression_fits.png, the data with each model's fitted curve.
"""
import numpy as np
from sklearn.datasets import load_diabetes

from _common import Stopwatch, load_backend, parse_args, print_metrics, pyplot, save_figure

torch, nn, F, optim, data = load_backend()


def load_data(seed=0):
    """bmi -> disease progression, split 80/20 and normalized with the training statistics."""
    X, y = load_diabetes(return_X_y=True)
    x = X[:, [2]]                      # bmi, kept as a column: shape (442, 1)
    y = y.reshape(-1, 1)               # the target as a column too: shape (442, 1)

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_valid = len(x) // 5
    valid, train = order[:n_valid], order[n_valid:]

    # Normalize: zero mean, unit variance, using training statistics only.
    x_mean, x_std = x[train].mean(), x[train].std()
    y_mean, y_std = y[train].mean(), y[train].std()
    x = (x - x_mean) / x_std
    y = (y - y_mean) / y_std

    def as_tensor(a):
        return torch.from_numpy(a.astype(np.float32))   # Linear layers want float32

    return as_tensor(x[train]), as_tensor(y[train]), as_tensor(x[valid]), as_tensor(y[valid])


MODEL_NAMES = ["linear", "linear stack", "Linear-ReLU-Linear", "1-5-2-1", "1-1000-1"]


def make_model(name):
    """A freshly initialized model: the lecture's regressors, from weakest to strongest."""
    if name == "linear":
        return nn.Sequential(
            nn.Linear(1, 1),
        )
    if name == "linear stack":             # w'(wx + b) + b' = w''x + b'': still a line
        return nn.Sequential(
            nn.Linear(1, 1),
            nn.Linear(1, 1),
        )
    if name == "Linear-ReLU-Linear":
        return nn.Sequential(
            nn.Linear(1, 1),
            nn.ReLU(),                     # the nonlinearity: clip the line at zero
            nn.Linear(1, 1),
        )
    if name == "1-5-2-1":
        return nn.Sequential(
            nn.Linear(1, 5),
            nn.ReLU(),
            nn.Linear(5, 2),
            nn.ReLU(),
            nn.Linear(2, 1),
        )
    if name == "1-1000-1":                 # too much strength: overfits if trained long
        return nn.Sequential(
            nn.Linear(1, 1000),
            nn.ReLU(),
            nn.Linear(1000, 1),
        )
    raise ValueError(f"unknown model {name!r}")


def train(model, X, y, epochs, lr):
    """The lecture's training loop: predict all instances at once, measure MSE, step."""
    mse = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        y_pred = model(X)              # vectorized: all n instances in one pass
        loss = mse(y_pred, y)
        optimizer.zero_grad()
        loss.backward()                # gradient of the loss w.r.t. every parameter
        optimizer.step()               # move the parameters towards lower loss
    return loss.item()


def mse_of(model, X, y):
    with torch.no_grad():
        return nn.MSELoss()(model(X), y).item()


def weights_of(model):
    """The model's parameters as numpy arrays, in layer order: W1, b1, W2, b2, ..."""
    return [p.detach().numpy() for p in model.parameters()]


def explain_linear_stack(model, X):
    """Show that two stacked linear layers collapse into one line: w''= w'w, b''= w'b + b'."""
    w, b, w2, b2 = weights_of(model)
    slope = (w2 @ w).item()
    intercept = (w2 @ b + b2).item()
    with torch.no_grad():
        y_stack = model(X).numpy()
    y_line = slope * X.numpy() + intercept
    print(f"  linear stack == one line  y = {slope:.4f} x {intercept:+.4f}"
          f"  (max difference {np.abs(y_stack - y_line).max():.1e})")


def explain_1521(model, X):
    """The 1-5-2-1 network written as the lecture's matrix products, all instances at once."""
    W1, b1, W2, b2, W3, b3 = weights_of(model)
    x = X.numpy()                                   # (n, 1)
    a1 = np.maximum(0, W1 @ x.T + b1[:, None])      # relu(W1 @ x.T + b1):  (5, n)
    a2 = np.maximum(0, W2 @ a1 + b2[:, None])       # relu(W2 @ a1 + b2):   (2, n)
    a3 = W3 @ a2 + b3[:, None]                      # W3 @ a2 + b3:         (1, n)
    with torch.no_grad():
        y_model = model(X).numpy()
    print(f"  1-5-2-1 by hand: W1 {W1.shape}, W2 {W2.shape}, W3 {W3.shape} -> "
          f"a1 {a1.shape}, a2 {a2.shape}, a3 {a3.shape}; "
          f"max difference from model(X) {np.abs(a3.T - y_model).max():.1e}")


def plot_fits(models, results, X_train, y_train, X_valid, y_valid, out):
    plt = pyplot()
    x_grid = np.linspace(X_train.numpy().min() - 0.2, X_train.numpy().max() + 0.2, 400)
    x_grid_t = torch.from_numpy(x_grid.astype(np.float32).reshape(-1, 1))
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.8),
                             sharex=True, sharey=True)
    for ax, (name, model) in zip(axes, models.items()):
        with torch.no_grad():
            curve = model(x_grid_t).numpy().ravel()
        ax.scatter(X_train.numpy(), y_train.numpy(), s=8, alpha=0.35, label="train")
        ax.scatter(X_valid.numpy(), y_valid.numpy(), s=10, alpha=0.6, marker="x",
                   label="validation")
        ax.plot(x_grid, curve, color="crimson", lw=2.2, label="model")
        train_mse, valid_mse = results[name]
        ax.set_title(f"{name}\ntrain MSE {train_mse:.3f}, valid MSE {valid_mse:.3f}",
                     fontsize=10)
        ax.set_xlabel("bmi (normalized)")
    axes[0].set_ylabel("disease progression (normalized)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Diabetes: bmi -> progression, one fitted curve per model", y=1.03)
    save_figure(fig, out, "regression_fits.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    X_train, y_train, X_valid, y_valid = load_data()
    print(f"data: {len(X_train)} training and {len(X_valid)} validation instances, 1 feature")

    # The baseline every regressor must beat: always predict the training mean (0 here).
    baseline = ((y_valid - y_train.mean()) ** 2).mean().item()
    print(f"baseline (predict the mean): valid MSE {baseline:.4f}")

    # (epochs, learning rate); the 1-1000-1 network is trained long on purpose.
    schedule = {"linear": (300, 0.05), "linear stack": (300, 0.05),
                "Linear-ReLU-Linear": (600, 0.05), "1-5-2-1": (1000, 0.02),
                "1-1000-1": (2000, 0.01)}
    models = {}
    results = {}
    print(f"{'model':>20} {'params':>7} {'epochs':>7} {'train MSE':>10} {'valid MSE':>10} "
          f"{'time':>7}")
    for name in MODEL_NAMES:
        epochs, lr = schedule[name]
        if args.quick:
            epochs = 100
        for attempt in range(3):
            model = make_model(name)
            with Stopwatch() as sw:
                train(model, X_train, y_train, epochs, lr)
            train_mse = mse_of(model, X_train, y_train)
            # y is normalized, so predicting the mean scores 1.0. A network stuck there
            # outputs a constant: all ReLUs of a layer are "dead" (zero for every input,
            # so no gradient flows back through them). Start again from other weights.
            if train_mse < 0.99:
                break
            print(f"{name:>20}: training MSE {train_mse:.3f}, a constant output (dead "
                  f"ReLUs); retrying from a new random start")
        models[name] = model
        n_params = sum(w.size for w in weights_of(model))
        results[name] = (train_mse, mse_of(model, X_valid, y_valid))
        print(f"{name:>20} {n_params:7d} {epochs:7d} {results[name][0]:10.4f} "
              f"{results[name][1]:10.4f} {sw.seconds:6.2f}s")

    explain_linear_stack(models["linear stack"], X_train)
    explain_1521(models["1-5-2-1"], X_train)
    plot_fits(models, results, X_train, y_train, X_valid, y_valid, args.out)

    metrics = {"baseline_valid_mse": baseline}
    for name, (_, valid_mse) in results.items():
        key = name.lower().replace(" ", "_").replace("-", "_")    # "1-5-2-1" -> "1_5_2_1"
        metrics[f"{key}_valid_mse"] = valid_mse
    print_metrics(**metrics)

if __name__ == "__main__":
    main()
