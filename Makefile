# The two commands a new user runs: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv lint openapi bench-intake bench-sweep pg clean

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || { echo "需要 python3 (3.11)"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

## make run: set up, migrate, load the demo, raise its safety-line warnings (idempotent), serve on http://$(HOST):$(PORT)
run: venv
	$(PY) -m massline migrate --noinput -v0
	$(PY) -m massline collectstatic --noinput -v0
	$(PY) -m massline demo
	$(PY) -m massline insight warnings --raise
	$(PY) -m massline classifier bootstrap
	@echo ""
	@echo "massline 已启动 · running at  http://$(HOST):$(PORT)/   （API 文档 /api/v1/docs，管理后台 /admin/）"
	@echo ""
	MASSLINE_ALLOWED_HOSTS="$${MASSLINE_ALLOWED_HOSTS:-*}" $(PY) -m massline runserver --noreload $(HOST):$(PORT)

## make test: install what the tests need (PostgreSQL, Chromium, CJK fonts) and run the whole suite
test:
	bash scripts/test.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

openapi: venv
	$(PY) -m massline openapi --out openapi.json

pg:
	scripts/pg.sh start

bench-intake: venv
	$(PY) bench/intake.py

bench-sweep: venv
	$(PY) bench/sweep.py

clean:
	rm -rf $(VENV) var build *.egg-info test-artifacts
