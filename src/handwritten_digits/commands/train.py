"""``digits train``: fit a classic or CNN model, export ONNX + model card."""

from __future__ import annotations

HELP = "Train a model on MNIST (or your own digits) and export it as ONNX with a model card."

CLASSIC = ["logreg", "knn", "forest", "svm", "best"]


def add_arguments(p) -> None:
    p.add_argument("--model", default="cnn", choices=CLASSIC + ["cnn", "checker"],
                   help="model family to train (default cnn; checker: the segmentation checker that reading numbers uses)")
    p.add_argument("--recipe", default="fast", help="CNN recipe: fast (time to 99%%), medium (time to 99.5%%) or accurate (the bundled model)")
    p.add_argument("--config", default=None, help="JSON file of training settings (e.g. written by `digits tune`); flags override it")
    p.add_argument("--epochs", type=int, default=None, help="CNN epochs (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None, help="CNN batch size (default: the recipe's)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the recipe's)")
    p.add_argument("--data", default="mnist",
                   help="training data: mnist; mnist+photos (plus 20,000 training digits rendered as photos and "
                        "read back by the preprocessing, and the digits cut out of 3,000 photo-like numbers); "
                        "mixed (mnist+photos plus pendigits, optdigits and USPS train writers, and two more classes: "
                        "marks that are not digits, and pieces of several digits); or folder:PATH with PATH/0/*.png ... PATH/9/*.png")
    p.add_argument("--coarse-digits", type=int, default=0, metavar="N",
                   help="with mnist+photos or mixed: add this many training digits drawn as coarse scans keep them "
                        "(8-20 pixels a side, black and white or a few grey levels) and read back (default 0)")
    p.add_argument("--coarse-from", default="mnist", choices=["mnist", "all"],
                   help="where the coarse digits are drawn from: mnist (MNIST's training digits), or all (with "
                        "mixed: MNIST's and the pendigits, optdigits and USPS training writers') (default mnist)")
    p.add_argument("--pages", type=int, default=0, metavar="N",
                   help="CNN, with mnist+photos or mixed: add the digits the bundled reader cuts out of N generated pages "
                        "of MNIST training digits (thin pens, ruled and squared paper, neighbours; about 40 a page) (default 0)")
    p.add_argument("--writers-weight", type=int, default=1, metavar="K",
                   help="with mixed: weigh the pendigits, optdigits and USPS training writers K times more (pendigits "
                        "drawn K times as often, each at its own pen, size and place; the bitmaps repeated) (default 1)")
    p.add_argument("--init", default=None, help="fine-tune from this model's checkpoint (.pt beside its .onnx)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--val-size", type=int, default=5000, help="training images held out for validation")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only (quick runs)")
    p.add_argument("--out", default="runs/model", help="output folder for model.onnx, model card and checkpoints")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where a CNN trains")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--nproc", type=int, default=1, help="CNN: train in N processes with DDP via torchrun")
    p.add_argument("--resume", action="store_true", help="CNN: continue from the last checkpoint in --out")
    p.add_argument("--dry-run", action="store_true", help="a few batches on a tiny subset, to check the pipeline end to end")
    p.add_argument("--json", action="store_true", help="print the final model card as JSON")


def run(args) -> int:
    if args.model == "cnn":
        from handwritten_digits.training.loop import train_from_args

        if args.pages:  # training never imports the reader: it gets the reader's read
            from handwritten_digits.reading.reader import Reader

            return train_from_args(args, read_page=Reader.load(threads=1).read)
    elif args.model == "checker":
        from handwritten_digits.training.checker import train_from_args
    else:
        from handwritten_digits.training.classic import train_from_args
    return train_from_args(args)
