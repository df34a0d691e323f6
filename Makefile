# Two commands do all set-up: `make demo` and `make test`. Both create or reuse .venv and install
# the project into it, which puts the `drift-zoo` command in .venv/bin (`. .venv/bin/activate`).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test venv clean imagenet-mini

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.14.1"
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/drift-zoo train --gin_file gin/experiments/toy.gin

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15 tests

clean:
	rm -rf $(VENV)

# --- The ImageNet recipe end to end on a miniature ImageNet made here (README "ImageNet, end to
# end"). Every step is a file target: rerunning resumes where the chain stopped. With real
# ImageNet, skip the first step and point --src at it (sizes and steps as in the gin headers).
# The knobs below shrink the chain (tests/test_imagenet_mini_chain.py runs it in seconds).
ZOO      ?= $(BIN)/drift-zoo
ZOO_DEP  ?= $(STAMP)
MINI     ?= data/imagenet-mini
MRUN     ?= results/runs/imagenet-mini
EVAL     := results/evaluators/shapes.pt
PER_CLASS ?= 500
VAL_PER_CLASS ?= 100
AE_STEPS ?= 600
MAE_STEPS ?= 300
BANK_PER_CLASS ?= 2000
SAMPLES  ?= 600
STEPS    ?=
RUN_ARGS  = --no_progress $(if $(STEPS),--gin_param "train.steps = $(STEPS)") \
            --gin_param "train.eval_samples = $(SAMPLES)"
PIXEL    = --gin_file gin/experiments/imagenet_mini_pixel.gin \
           --gin_param "webdataset.urls = '$(MINI)/shards/train'" \
           --gin_param "webdataset.val_urls = '$(MINI)/shards/val'" \
           --gin_param "mae.path = '$(MINI)/mae_pixel.pt'"
LATENT   = --gin_file gin/experiments/imagenet_mini_latent.gin \
           --gin_param "webdataset.urls = '$(MINI)/latents/train'" \
           --gin_param "webdataset.val_urls = '$(MINI)/latents/val'" \
           --gin_param "mae.path = '$(MINI)/mae_latent.pt'"
SHARDS   = --center-crop --max-per-shard 500 --workers 2

$(MINI)/synsets.txt: | $(ZOO_DEP)
	$(ZOO) make-imagenet-mini --out $(MINI) --dataset shapes --size 64 \
	    --train-per-class $(PER_CLASS) --val-per-class $(VAL_PER_CLASS) --seed 0 --quiet

$(MINI)/shards/train/manifest.json: $(MINI)/synsets.txt
	$(ZOO) make-shards --src $(MINI)/val --out $(MINI)/shards/val --size 32 $(SHARDS)
	$(ZOO) make-shards --src $(MINI)/train --out $(MINI)/shards/train --size 32 $(SHARDS)

$(MINI)/conv_ae.pt: $(MINI)/synsets.txt
	$(ZOO) make-shards --src $(MINI)/val --out $(MINI)/shards64/val --size 64 $(SHARDS)
	$(ZOO) make-shards --src $(MINI)/train --out $(MINI)/shards64/train --size 64 $(SHARDS)
	$(ZOO) train-autoencoder --shards $(MINI)/shards64/train --val $(MINI)/shards64/val --out $@ \
	    --steps $(AE_STEPS) --quiet

$(MINI)/latents/train/manifest.json: $(MINI)/conv_ae.pt
	$(ZOO) make-shards --src $(MINI)/val --out $(MINI)/latents/val --size 64 $(SHARDS) \
	    --latents conv_ae --latents-path $(MINI)/conv_ae.pt
	$(ZOO) make-shards --src $(MINI)/train --out $(MINI)/latents/train --size 64 $(SHARDS) \
	    --latents conv_ae --latents-path $(MINI)/conv_ae.pt

$(MINI)/mae_pixel.pt: $(MINI)/shards/train/manifest.json
	$(ZOO) train-encoder --shards $(MINI)/shards/train --val_shards $(MINI)/shards/val --out $@ \
	    --input_patch_size 2 --base_channels 8 --steps $(MAE_STEPS) --batch 32 --workers 1 --quiet

$(MINI)/mae_latent.pt: $(MINI)/latents/train/manifest.json
	$(ZOO) train-encoder --shards $(MINI)/latents/train --val_shards $(MINI)/latents/val --out $@ \
	    --field npy --base_channels 8 --steps $(MAE_STEPS) --batch 32 --workers 1 --quiet

$(MINI)/bank/manifest.json: $(MINI)/mae_pixel.pt
	$(ZOO) make-bank $(PIXEL) --out $(MINI)/bank --per-class $(BANK_PER_CLASS) --quiet

$(MRUN)/pixel/samples.png: $(MINI)/mae_pixel.pt
	$(ZOO) train $(PIXEL) $(RUN_ARGS) --workdir $(MRUN)/pixel

$(MRUN)/pixel_knn/samples.png: $(MINI)/mae_pixel.pt $(MINI)/bank/manifest.json
	$(ZOO) train $(PIXEL) $(RUN_ARGS) --workdir $(MRUN)/pixel_knn \
	    --gin_param "train.positives = @knn()" --gin_param "knn.path = '$(MINI)/bank'"

$(MRUN)/latent/samples.png: $(MINI)/mae_latent.pt
	$(ZOO) train $(LATENT) $(RUN_ARGS) --workdir $(MRUN)/latent

# samples -> (decoded) PNGs -> FD in the committed evaluator's features (and FID with Inception
# when $$ZOO_INCEPTION names the local file) -> recorded in the run's summary.json
$(MRUN)/%/png: $(MRUN)/%/samples.png
	rm -rf $@-partial
	$(ZOO) sample --workdir $(MRUN)/$* --num $(SAMPLES) --png_dir $@-partial
	$(ZOO) fid $(MINI)/val $@-partial --evaluator $(EVAL) --record $(MRUN)/$*
	if [ -n "$$ZOO_INCEPTION" ]; then $(ZOO) fid $(MINI)/val $@-partial --record $(MRUN)/$*; fi
	mv $@-partial $@

imagenet-mini: $(MRUN)/pixel/png $(MRUN)/pixel_knn/png $(MRUN)/latent/png
	$(ZOO) leaderboard $(MRUN) --markdown $(MRUN)/leaderboard.md
