"""A convolutional network on the 8x8 digits, against the MLP of training_process.py.

Same data, same split, same (20% noisy) training labels, same training loop as
training_process.py (minibatch SGD with momentum, best model by validation loss); only
the model changes:

  MLP            64-256-256-10 on the flattened pixels (training_process.py's network)
  MLP + reg      the same with BatchNorm1d and Dropout(0.5)
  CNN            LeNet-style: 2 x (Conv2d 3x3 -> ReLU -> MaxPool2d 2) -> Linear 128-64-10
  CNN + reg      the same with BatchNorm2d after each convolution and Dropout2d

The CNN reads the very same 64-feature rows: its first layer, nn.Unflatten, turns each row
back into a 1x8x8 image. Convolutions share one small filter across the whole image, so
the CNN has ~6x fewer parameters than the MLP and knows that neighbouring pixels belong
together.

Run:  python examples/cnn_digits.py [--out DIR] [--quick]
Figures: cnn_training_curves.png (training and validation loss per epoch of each model),
cnn_filters.png (the 16 learned first-layer filters), cnn_feature_maps.png (one test
digit and what each convolution layer makes of it).
"""
import numpy as np

from training_process import evaluate, fit, load_data, make_model

from _common import Stopwatch, load_backend, parse_args, print_metrics, pyplot, save_figure

torch, nn, F, optim, data = load_backend()


def make_cnn(regularized=False):
    """1x8x8 -> 16x8x8 -> pool 16x4x4 -> 32x4x4 -> pool 32x2x2 -> 128 -> 64 -> 10 logits."""
    def block(n_in, n_out):
        layers = [nn.Conv2d(n_in, n_out, kernel_size=3, padding=1)]   # 'same' size
        if regularized:
            layers.append(nn.BatchNorm2d(n_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        return layers

    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),                        # (N, 64) rows -> (N, 1, 8, 8)
        *block(1, 16),
        *([nn.Dropout2d(0.1)] if regularized else []),     # drops whole feature maps
        *block(16, 32),
        nn.Flatten(),
        *([nn.Dropout(0.5)] if regularized else []),
        nn.Linear(32 * 2 * 2, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def n_parameters(model):
    return sum(p.numel() for p in model.parameters())


def plot_curves(runs, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name, run in runs.items():
        history = run["history"]
        epochs = np.arange(1, len(history["train"]) + 1)
        style = "-" if name.startswith("CNN") else "--"
        axes[0].plot(epochs, history["train"], style, label=name)
        axes[1].plot(epochs, history["valid"], style, label=name)
    axes[0].set_title("training loss (20% of the labels are wrong)")
    axes[1].set_title("validation loss (clean labels)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.5)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy loss")
    axes[1].legend()
    save_figure(fig, out, "cnn_training_curves.png")


def plot_filters(conv, out):
    """The first layer's 3x3 filters, one small image each (red positive, blue negative)."""
    plt = pyplot()
    weights = conv.weight.detach().cpu().numpy()[:, 0]          # (16, 3, 3)
    limit = np.abs(weights).max()
    fig, axes = plt.subplots(2, 8, figsize=(9, 2.6))
    for i, ax in enumerate(axes.flat):
        ax.imshow(weights[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"filter {i}", fontsize=8)
        ax.axis("off")
    fig.suptitle("First-layer filters of the CNN (3x3, red = positive weight)")
    save_figure(fig, out, "cnn_filters.png")


def plot_feature_maps(model, image, label, out):
    """Forward hooks on the ReLUs after each convolution catch the feature maps."""
    captured = []
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)][:2]
    handles = [m.register_forward_hook(lambda mod, inp, output: captured.append(output))
               for m in relus]
    model.eval()
    with torch.no_grad():
        model(image[None])
    for h in handles:
        h.remove()
    maps1, maps2 = (c[0].cpu().numpy() for c in captured)       # (16, 8, 8), (32, 4, 4)
    plt = pyplot()
    fig = plt.figure(figsize=(12, 4.4))
    grid = fig.add_gridspec(4, 17, width_ratios=[3] + [1] * 16)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(image.cpu().numpy().reshape(8, 8), cmap="gray_r")
    ax.set_title(f"input: a {label}\n(normalized pixels)")
    ax.axis("off")
    for i in range(16):
        ax = fig.add_subplot(grid[i // 8, 1 + 2 * (i % 8):3 + 2 * (i % 8)])
        ax.imshow(maps1[i], cmap="viridis")
        ax.axis("off")
    for i in range(32):
        ax = fig.add_subplot(grid[2 + i // 16, 1 + i % 16])
        ax.imshow(maps2[i], cmap="viridis")
        ax.axis("off")
    fig.suptitle("Feature maps after ReLU: layer 1 (16 maps, 8x8, top two rows), "
                 "layer 2 (32 maps, 4x4, bottom two rows)")
    save_figure(fig, out, "cnn_feature_maps.png")


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_data()
    X_train, y_train = X_train.to(device), y_train.to(device)
    X_valid, y_valid = X_valid.to(device), y_valid.to(device)
    X_test, y_test = X_test.to(device), y_test.to(device)
    train_set = data.TensorDataset(X_train, y_train)

    epochs = 4 if args.quick else 40
    models = {                         # name: (constructor, learning rate)
        "MLP": (lambda: make_model(), 0.01),
        "MLP + reg": (lambda: make_model(dropout=0.5, batchnorm=True), 0.01),
        "CNN": (lambda: make_cnn(), 0.03),
        "CNN + reg": (lambda: make_cnn(regularized=True), 0.03),
    }
    runs = {}
    print(f"{'model':>10} {'params':>7} {'best epoch':>11} {'best valid loss':>16} "
          f"{'test acc':>9} {'time':>7}")
    for name, (build, lr) in models.items():
        torch.manual_seed(1)
        model = build().to(device)
        with Stopwatch() as sw:
            history, best = fit(model, train_set, X_train, y_train, X_valid, y_valid, epochs, lr)
        _, test_acc = evaluate(best, X_test, y_test)
        runs[name] = {"history": history, "test_acc": test_acc, "model": best,
                      "params": n_parameters(model)}
        b = history["best_epoch"]
        print(f"{name:>10} {runs[name]['params']:7d} {b + 1:11d} {history['valid'][b]:16.4f} "
              f"{test_acc:9.3f} {sw.seconds:6.2f}s")

    cnn = runs["CNN"]["model"]
    plot_curves(runs, args.out)
    plot_filters(next(m for m in cnn.modules() if isinstance(m, nn.Conv2d)), args.out)
    plot_feature_maps(cnn, X_test[0], int(y_test[0]), args.out)
    print_metrics(
        mlp_test_accuracy=runs["MLP"]["test_acc"],
        mlp_reg_test_accuracy=runs["MLP + reg"]["test_acc"],
        cnn_test_accuracy=runs["CNN"]["test_acc"],
        cnn_reg_test_accuracy=runs["CNN + reg"]["test_acc"],
        mlp_parameters=runs["MLP"]["params"],
        cnn_parameters=runs["CNN"]["params"],
    )


if __name__ == "__main__":
    main()
