# servesim: the README's first two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help install gen build typecheck lint format test run bench soak clean

help:
	@echo "make run    - install, build, start both services on loopback and run a real simulation job"
	@echo "make test   - install (npm ci), generate, lint, check the layers, type-check and run the whole test suite"
	@echo "make gen    - regenerate code from proto/ (TypeScript, descriptor set, Python stubs)"
	@echo "make build  - check the layers and compile every package (tsc -b); the CLI is clients/cli/dist/main.js, bundled as clients/cli/bundle/servesim.js"
	@echo "make lint   - buf lint, biome (lint + format check), the layer check and the type-check"
	@echo "make format - apply biome's formatting"
	@echo "make bench  - the simulation-speed benchmark (bench/RESULTS.md)"
	@echo "make soak   - the fuzz and fault suite at length (SERVESIM_FUZZ_CASES=2000 per RPC, kills, PostgreSQL replicas)"

node_modules/.package-lock.json: package.json package-lock.json $(wildcard services/*/package.json clients/*/package.json bench/package.json deploy/package.json)
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

gen: install
	npm run --silent gen

build: gen
	node scripts/check-layers.mjs
	npx tsc -b
	node scripts/bundle-cli.mjs

typecheck: build
	npx tsc -p tsconfig.test.json

lint: gen
	npx buf lint
	npx biome check .
	node scripts/check-layers.mjs
	npx tsc -b
	npx tsc -p tsconfig.test.json

format: install
	npx biome format --write .

test:
	npm ci --no-audit --no-fund
	npm run --silent gen
	npx buf lint
	npx biome check .
	node scripts/check-layers.mjs
	npx tsc -b
	node scripts/bundle-cli.mjs
	npx tsc -p tsconfig.test.json
	node scripts/test.mjs

run: build
	bash scripts/run-demo.sh

bench: build
	node bench/dist/run.js

soak: build
	SERVESIM_FUZZ_CASES=$${SERVESIM_FUZZ_CASES:-2000} npx vitest run services/scheduler/test/fuzz.test.ts services/scheduler/test/crash.test.ts services/scheduler/test/postgres.test.ts services/scheduler/test/hardening.test.ts

clean:
	rm -rf services/*/dist clients/*/dist clients/cli/bundle bench/dist services/wire/gen .servesim-run
