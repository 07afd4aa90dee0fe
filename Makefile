# The two commands of the README. Both start from nothing but Python 3.11.
.PHONY: demo test lint format dev bootstrap sam-build clean

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	.venv/bin/lumiere demo

dev: bootstrap
	.venv/bin/lumiere dev

test: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: bootstrap
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

sam-build: bootstrap
	.venv/bin/sam build --build-dir .aws-sam/build

clean:
	rm -rf .venv .aws-sam .pytest_cache
