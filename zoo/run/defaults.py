"""Trainer defaults that code outside the loop needs, in one low module (imports nothing).

``zoo.run.train.train`` uses them as its signature defaults and ``zoo.run.sampling`` reads them
for a run whose config leaves them unbound, so sampling need not import the trainer
(train -> evaluation -> sampling -> train was an import circle).

    evaluation noise seed = train.seed + EVAL_SEED_OFFSET     (apart from the training noise)
"""
SEED = 0  # train.seed
EVAL_SAMPLES = 4096  # train.eval_samples: samples drawn for each evaluation
EVAL_SEED_OFFSET = 10**5  # evaluation noise seed = train.seed + this
