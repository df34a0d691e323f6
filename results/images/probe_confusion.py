"""Which shapes the generator draws for each asked-for class: the committed evaluator's
confusion matrix on 1200 EMA samples (balanced labels, seed 123) of each run, plus the
held-out data's own matrix as the floor. Row = asked-for class, column = evaluator's call,
in % of the row.

    PYTHONPATH=. python results/images/probe_confusion.py results/runs/<shapes run> ...   (from the repository root; results/images.md)
    BLUR=0.5,1,1.5 PYTHONPATH=. python results/images/probe_confusion.py    (held-out data, Gaussian-blurred)
    EVALUATOR=results/evaluators/shapes_blur.pt PYTHONPATH=. python ...     (the blur-robust evaluator)
    EVALUATOR=results/evaluators/shapes16.pt PYTHONPATH=. python ...        (16x16 runs)
"""
import os, sys, torch, zoo
from zoo.metrics.blur import blur
from zoo.metrics.evaluator import load_evaluator
from zoo.run.sampling import restore, sample, eval_labels

ev = load_evaluator(os.environ.get("EVALUATOR", "results/evaluators/shapes.pt"))


def table(name, x, labels, names):
    with torch.no_grad():
        pred = ev(x).argmax(1)
    k = len(names)
    m = torch.zeros(k, k)
    m.index_put_((labels, pred), torch.ones(len(labels)), accumulate=True)
    m = 100 * m / m.sum(1, keepdim=True)
    print(f"\n{name}: accuracy {float((pred == labels).float().mean()):.3f}")
    print("| asked \\ drawn | " + " | ".join(names) + " |")
    print("|---" * (k + 1) + "|")
    for c in range(k):
        print(f"| {names[c]} | " + " | ".join(f"{v:.0f}" for v in m[c].tolist()) + " |")


ds = zoo.build("dataset", "shapes", size=ev.shape[1])  # held-out shapes at the evaluator's side
f = ds.held_out_factors(1200)
real = ds.render(f)
table("held-out data", real, f["label"], ds.class_names)
for sigma in map(float, os.environ.get("BLUR", "").split(",") if os.environ.get("BLUR") else []):
    table(f"held-out data blurred, sigma {sigma} px", blur(real, sigma), f["label"], ds.class_names)
for wd in sys.argv[1:]:
    model, data, _ = restore(wd)
    x = sample(model, 1200, 123)
    table(wd, x.clamp(-1, 1), eval_labels(model, 1200), data.class_names)
