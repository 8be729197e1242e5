"""Data preparation: from a messy mixed table to numbers a network can train on.

Step 1 of the lecture's training process, on a small table of apartment rents made up
in this script (no download, no pandas): numeric columns on very different scales, some
values missing, and a categorical column. We

  - conjure up values for the missing ones (the training median), and keep a 0/1
    column saying "this value was missing" (missingness can carry information),
  - turn the categorical column into dummy variables (one 0/1 column per category),
  - normalize the numeric columns (zero mean, unit variance),

learning every statistic (medians, means, stds, categories) from the training rows only,
then apply the same preparation to the validation rows, and train a small network.

Run:  python examples/data_preparation.py [--out DIR] [--quick]
Figure: data_preparation.png, feature scales before/after, and predicted vs actual rent.
"""
import numpy as np

from _common import Stopwatch, load_backend, parse_args, print_metrics, pyplot, save_figure

torch, nn, F, optim, data = load_backend()

NUMERIC = ["sqft", "bedrooms", "age"]
CATEGORICAL = "neighborhood"
NEIGHBORHOODS = {"mission": 400.0, "soma": 700.0, "sunset": -200.0, "marina": 900.0}


def make_table(n=400, seed=0):
    """A made-up table of apartments: a dict of columns, with NaN for missing values."""
    rng = np.random.default_rng(seed)
    bedrooms = rng.integers(0, 5, n).astype(float)
    sqft = np.round(np.maximum(250, 400 + 300 * bedrooms + rng.normal(0, 100, n)))
    age = np.round(rng.gamma(2.0, 20.0, n))                       # years since built
    neighborhood = rng.choice(list(NEIGHBORHOODS), n, p=[0.35, 0.25, 0.25, 0.15])
    premium = np.array([NEIGHBORHOODS[name] for name in neighborhood])
    rent = (800 + 1.6 * sqft + 150 * bedrooms + premium
            - 600 * (1 - np.exp(-age / 30)) + rng.normal(0, 150, n))
    # Knock out some values, as in real data: 15% of sqft and 20% of age are unknown.
    sqft[rng.random(n) < 0.15] = np.nan
    age[rng.random(n) < 0.20] = np.nan
    return {"sqft": sqft, "bedrooms": bedrooms, "age": age, "neighborhood": neighborhood,
            "rent": np.round(rent)}


def rows(table, index):
    return {name: column[index] for name, column in table.items()}


def fit_preparation(train):
    """Learn what preparation needs from the training rows only."""
    stats = {"categories": sorted(str(name) for name in set(train[CATEGORICAL]))}
    for name in NUMERIC:
        column = train[name]
        median = np.nanmedian(column)                      # robust to outliers
        filled = np.where(np.isnan(column), median, column)
        stats[name] = {"median": median, "mean": filled.mean(), "std": filled.std(),
                       "indicator": bool(np.isnan(column).any())}
    return stats


def prepare(table, stats):
    """Return (column names, float32 matrix): imputed, indicator, dummy, normalized."""
    columns = {}
    for name in NUMERIC:
        s = stats[name]
        column = table[name]
        missing = np.isnan(column)
        filled = np.where(missing, s["median"], column)   # conjure up missing values
        columns[name] = (filled - s["mean"]) / s["std"]    # normalize
        if s["indicator"]:                                 # if training had missing values
            columns[f"{name}_na"] = missing.astype(float)  # remember it was missing
    for category in stats["categories"]:                  # dummy variables
        columns[f"{CATEGORICAL}_{category}"] = (table[CATEGORICAL] == category).astype(float)
    names = list(columns)
    X = np.column_stack([columns[name] for name in names]).astype(np.float32)
    return names, X


def format_table(columns, n_rows=8):
    """A plain-text table of the first n_rows of a dict of equal-length columns."""
    names = list(columns)

    def cell(value):
        if isinstance(value, str):
            return value
        if np.isnan(value):
            return "NaN"
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"

    cells = [[cell(columns[name][i]) for name in names] for i in range(n_rows)]
    widths = [max(len(name), *(len(row[j]) for row in cells)) for j, name in enumerate(names)]
    lines = ["  ".join(name.rjust(w) for name, w in zip(names, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def train(model, X, y, epochs, lr):
    mse = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        loss = mse(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def plot(raw_valid, X_train_raw, X_train, names, rent_valid, rent_pred, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    raw = [X_train_raw[name][~np.isnan(X_train_raw[name])] for name in NUMERIC]
    axes[0].boxplot(raw)
    axes[0].set_xticks(range(1, len(NUMERIC) + 1), NUMERIC)
    axes[0].set_title("raw numeric columns (training rows):\nvery different scales")
    axes[1].boxplot([X_train[:, names.index(name)] for name in NUMERIC])
    axes[1].set_xticks(range(1, len(NUMERIC) + 1), NUMERIC)
    axes[1].set_title("prepared: imputed and normalized\n(mean 0, std 1)")
    axes[1].axhline(0, color="gray", lw=0.8)
    lo, hi = min(rent_valid.min(), rent_pred.min()), max(rent_valid.max(), rent_pred.max())
    was_missing = np.isnan(raw_valid["sqft"]) | np.isnan(raw_valid["age"])
    axes[2].scatter(rent_valid[~was_missing], rent_pred[~was_missing], s=14, alpha=0.7,
                    label="complete rows")
    axes[2].scatter(rent_valid[was_missing], rent_pred[was_missing], s=18, marker="x",
                    label="rows with imputed values")
    axes[2].plot([lo, hi], [lo, hi], color="k", lw=1, label="perfect prediction")
    axes[2].set_xlabel("actual rent ($)")
    axes[2].set_ylabel("predicted rent ($)")
    axes[2].set_title("validation rows: predicted vs actual")
    axes[2].legend(fontsize=8)
    save_figure(fig, out, "data_preparation.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    table = make_table()
    n = len(table["rent"])
    print(f"raw table: {n} rows; missing values: "
          + ", ".join(f"{name} {int(np.isnan(table[name]).sum())}" for name in NUMERIC))

    # Split first, so that no statistic of the validation rows leaks into the preparation.
    order = torch.randperm(n).numpy()
    n_valid = n // 4
    train_rows, valid_rows = rows(table, order[n_valid:]), rows(table, order[:n_valid])
    print("the first training rows, raw:")
    print(format_table(train_rows))
    stats = fit_preparation(train_rows)
    names, X_train = prepare(train_rows, stats)
    _, X_valid = prepare(valid_rows, stats)
    print(f"\nlearned from the {n - n_valid} training rows: medians "
          + ", ".join(f"{name} {stats[name]['median']:.0f}" for name in NUMERIC)
          + f"; categories {stats['categories']}")
    print(f"the same rows, prepared ({X_train.shape[0]} rows x {X_train.shape[1]} numeric "
          f"features in all):")
    print(format_table({name: X_train[:, j] for j, name in enumerate(names)}))

    # The target is normalized too; predictions are mapped back to dollars.
    rent_mean, rent_std = train_rows["rent"].mean(), train_rows["rent"].std()

    def to_target(rent):
        return torch.from_numpy(((rent - rent_mean) / rent_std).astype(np.float32)
                                .reshape(-1, 1))

    y_train, y_valid = to_target(train_rows["rent"]), to_target(valid_rows["rent"])
    X_train_t, X_valid_t = torch.from_numpy(X_train), torch.from_numpy(X_valid)

    model = nn.Sequential(
        nn.Linear(X_train.shape[1], 16),
        nn.ReLU(),
        nn.Linear(16, 1),
    )
    epochs = 50 if args.quick else 800
    with Stopwatch() as sw:
        loss = train(model, X_train_t, y_train, epochs, lr=0.01)
    with torch.no_grad():
        valid_mse = nn.MSELoss()(model(X_valid_t), y_valid).item()
        rent_pred = model(X_valid_t).numpy().ravel() * rent_std + rent_mean
    baseline_mse = ((y_valid - y_train.mean()) ** 2).mean().item()
    rent_valid = valid_rows["rent"]
    mae = np.abs(rent_pred - rent_valid).mean()
    r2 = 1 - ((rent_pred - rent_valid) ** 2).sum() / ((rent_valid - rent_valid.mean()) ** 2).sum()
    print(f"\ntrained {epochs} epochs in {sw.seconds:.2f}s: training MSE {loss:.4f} "
          f"(normalized rent)")
    print(f"validation: MSE {valid_mse:.4f} vs {baseline_mse:.4f} predicting the mean; "
          f"R^2 {r2:.3f}; mean absolute error ${mae:.0f}")

    plot(valid_rows, train_rows, X_train, names, rent_valid, rent_pred, args.out)
    print_metrics(valid_mse=valid_mse, baseline_valid_mse=baseline_mse, valid_r2=r2,
                  valid_mae_dollars=mae)


if __name__ == "__main__":
    main()
