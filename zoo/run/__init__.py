"""The machinery of one run: the train loop (the one gin root, ``zoo.run.train.train``) and
what it leans on.

    train.py         the loop, and only the loop
    batches.py       one step's inputs, drawn from the checkpointed streams
    feature_step.py  the drift loss over an encoder's feature sets
    state.py         the checkpointed training state
    folder.py        run folders: config, records, summary, checkpoint (atomic, locked)
    sampling.py      sampling and restoring a trained generator from its run folder
    evaluation.py    metrics and pictures at evaluation time
    plots.py         samples.png, curves.png and the diagnostic plots
    progress.py      the progress bar
    report.py        console output: error lines and metric tables
"""
