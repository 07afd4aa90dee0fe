# The two commands of the README. Both start from nothing but Python 3.11.
.PHONY: demo test lint format dev bootstrap sam-build lambda-sizes clean

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	.venv/bin/lumiere demo

dev: bootstrap
	.venv/bin/lumiere dev

# Whole files to three workers, the longest first (tests/conftest.py orders them; xdist
# must keep that order). Three on two cores: a worker waiting on a local stack, a browser
# or a subprocess leaves a core to the others (one run each on the 2-core EPYC VM: 872 s
# with two workers, 778 s with three, before the order was kept).
test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest -n 3 --dist loadfile --no-loadscope-reorder

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: bootstrap
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

sam-build: bootstrap
	.venv/bin/sam build --parallel --build-dir .aws-sam/build

# sam build, then every zip function's code + layers against Lambda's 250 MB (unzipped).
lambda-sizes: bootstrap
	.venv/bin/python -m lumiere_dev.lambda_sizes --build-dir .aws-sam/build

clean:
	rm -rf .venv .aws-sam .pytest_cache
