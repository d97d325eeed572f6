# Pulse: `make up` runs the whole system here, `make test` proves it.
SHELL := /bin/bash
UV := PATH="$$HOME/.local/bin:$$PATH" UV_PYTHON_DOWNLOADS=never uv run --frozen --quiet

.PHONY: up down install infra test lint typecheck pytest e2e bench status clean

up: ## infrastructure + migrations + services + demo data, in the background
	@bash deploy/local/up.sh

down: ## stop services and infrastructure (data stays in .run/)
	@bash deploy/local/services.sh stop
	@bash deploy/local/infra.sh down

status:
	@bash deploy/local/infra.sh status; bash deploy/local/services.sh status

install: ## Debian packages, Kafka jars, Keycloak, Mailpit, uv and the Python workspace (idempotent)
	@bash deploy/local/install.sh

infra: ## install, then start PostgreSQL, Redis, Kafka, Mailpit and Keycloak (idempotent)
	@bash deploy/local/infra.sh up

test: infra lint typecheck pytest e2e ## everything CI runs

lint:
	$(UV) ruff check .
	$(UV) ruff format --check .

# One mypy run over the code, one per tests folder (test modules share names across packages).
typecheck:
	$(UV) mypy shared/src services/*/src services/dashboard/server cli/src deploy/local conftest.py pulse_testing
	@for d in shared/tests services/*/tests cli/tests tests; do echo "mypy $$d"; $(UV) mypy $$d || exit 1; done

pytest:
	$(UV) pytest

# The dashboard in headless Chromium against the whole stack with its demo data (`make up`),
# every chart checked against the API; screenshots in services/dashboard/screenshots/.
e2e:
	@bash deploy/local/up.sh > /dev/null
	@bash services/dashboard/run-e2e.sh

bench: ## aggregator and query-api benchmarks, reads under writes, Lighthouse on the dashboard, beside their targets (bench/README.md); small: BENCH_ARGS="--events 50000 --posts 5000 --businesses 20" QUERY_BENCH_ARGS="--businesses 50 --posts 50000 --snapshots 500000" RW_BENCH_ARGS="--events 50000 --posts 5000 --businesses 20 --requests 50 --probes 30"
	@bash deploy/local/infra.sh up
	$(UV) python bench/aggregator_bench.py $(BENCH_ARGS)
	$(UV) python bench/query_bench.py $(QUERY_BENCH_ARGS)
	$(UV) python bench/reads_under_writes.py $(RW_BENCH_ARGS)
	@bash bench/lighthouse/run.sh

clean: down ## stop everything and delete local data (.run/)
	rm -rf .run
