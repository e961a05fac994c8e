// Command million sends a newsletter to a generated ledger through the
// sharded fan-out, as AWS would run it: the hourly run plans the campaign's
// shards, and W workers (standing in for fan-out Lambda instances) take them
// off the queue one at a time, each deciding one page of customers. It runs
// on a DynamoDB Local of its own, in memory, and LINE's and SendGrid's local
// stand-in. It prints what the scale model in docs/scale.md needs:
// customers decided per second, LINE requests per message, items read per
// customer, and the peak memory of one shard worker.
//
//	go run ./infra/million -customers 1000000 -workers 8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
)

func main() {
	n := flag.Int("customers", 1_000_000, "customers in the generated ledger")
	workers := flag.Int("workers", 8, "fan-out workers, as concurrent Lambda instances")
	shard := flag.Int("shard", 0, "customers a shard (0: the default, 1000)")
	limit := flag.Duration("for", 0, "stop the fan-out after this long and report what it decided (0: run to the end)")
	flag.Parse()
	if err := run(context.Background(), *n, *workers, *shard, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "million:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, workers, shardSize int, limit time.Duration) error {
	if n < 1 || workers < 1 || shardSize < 0 {
		return fmt.Errorf("-customers %d, -workers %d, -shard %d: want positive counts", n, workers, shardSize)
	}
	dir, err := os.MkdirTemp("", "daifuku-million-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
		if err != nil {
			return err
		}
		defer srv.Stop()
		endpoint = srv.Endpoint
	}
	os.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	os.Setenv("SENDGRID_API_KEY", "")
	c, err := content.ContentFromEnv()
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("million%d-", time.Now().UnixNano())
	env, err := local.Start(ctx, local.Options{Dir: dir, DynamoDB: endpoint, Content: c, Prefix: prefix,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer env.Close()
	now := env.Now()

	// The ledger, generated and loaded in chunks by parallel BatchWriteItem.
	began := time.Now()
	if err := seed.Generate(n, 2026, now, 20_000, func(cs []*customer.Customer) error {
		for _, cu := range cs {
			cu.Rank = rank.Evaluate(c.Rules, cu, now).String()
		}
		return env.Store.PutCustomers(ctx, cs)
	}); err != nil {
		return err
	}
	load := time.Since(began)
	fmt.Printf("ledger: %d customers loaded in %s (%.0f/s, BatchWriteItem)\n", n, load.Round(time.Second), float64(n)/load.Seconds())

	r := env.Campaigns
	r.Shards, r.ShardSize = env.Queue, shardSize
	camp := campaign.Campaign{ID: "million", Title: "冬のお便り", SendAt: now, Audience: campaign.Audience{All: true},
		Templates: map[string]string{"royal": "newsletter/2026-winter-royal", "default": "newsletter/2026-winter-default"}}
	if err := env.Store.CreateCampaign(ctx, camp); err != nil {
		return err
	}
	began = time.Now()
	rep, err := r.Send(ctx, camp, now)
	if err != nil {
		return err
	}
	fmt.Printf("the hourly run planned %d shards (Scan segments) in %s\n", rep.Shards, time.Since(began).Round(time.Millisecond))
	workCtx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		workCtx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	failed, err := work(workCtx, env, workers)
	if err != nil {
		return err
	}
	took := time.Since(began)
	st, err := env.Store.CampaignState(ctx, camp.ID)
	if err != nil {
		return err
	}
	f := st.Fan
	decided := f.Counts["audience"]
	switch {
	case st.Status == campaign.Delivering && decided == n:
	case workCtx.Err() != nil:
		fmt.Printf("stopped after %s, as -for asked: %d of %d shards done\n", limit, f.Done, f.Total)
	default:
		return fmt.Errorf("campaign %s after the fan-out: %s, %d of %d decided, %d shards failed", camp.ID, st.Status, decided, n, failed)
	}
	line := f.Counts["line_multicast"] + f.Counts["line_push"]
	fmt.Printf("fan-out: %d customers decided by %d workers in %s: %.0f customers/s\n", decided, workers, took.Round(time.Second), float64(decided)/took.Seconds())
	fmt.Printf("  shards: %d (%d receives failed), %.2f s each, one worker\n", f.Total, failed, took.Seconds()*float64(workers)/float64(max(1, f.Done)))
	fmt.Printf("  LINE: %d friends in %d requests (%d multicasts, %d pushes): %.4f requests/message\n", line, f.Counts["line_requests"],
		f.Counts["batches"], f.Counts["line_push"], float64(f.Counts["line_requests"])/float64(max(1, line)))
	fmt.Printf("  email: %d jobs queued for the sender; %d skipped (no channel), %d capped\n", f.Counts["email"], f.Counts["skipped"], f.Counts["suppressed"])
	fmt.Printf("  DynamoDB: %.2f items read/customer\n", float64(f.Counts["items_read"])/float64(max(1, decided)))

	// One shard alone, on a client that counts its calls: its memory, and
	// the round trips that bound a Lambda's rate against DynamoDB in AWS.
	counted, ops := testrig.Counting(dynamolocal.Client(endpoint))
	probe := *env.Campaigns
	probe.Ledger = dynamo.New(counted, dynamo.TablesWithPrefix(prefix))
	peak, decidedAlone, err := shardPeak(ctx, env, &probe, camp)
	if err != nil {
		return err
	}
	fmt.Printf("  one shard alone: %d customers, %.2f DynamoDB calls/customer (%s)\n", decidedAlone,
		float64(ops.Total())/float64(max(1, decidedAlone)), ops)
	size := r.ShardSize
	if size == 0 {
		size = campaigns.DefaultShardSize
	}
	fmt.Printf("  one shard worker: peak Go heap %.1f MiB above idle while deciding a shard of %d customers\n", float64(peak)/(1<<20), size)
	return nil
}

// work runs the fan-out workers until no shard is left: each takes one
// shard at a time, as a Lambda with a batch size of one.
func work(ctx context.Context, env *local.Env, workers int) (int, error) {
	var (
		busy, failed atomic.Int64
		wg           sync.WaitGroup
		errs         = make(chan error, workers)
	)
	q := &env.Queue.Shards
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				busy.Add(1)
				ev := q.Receive(1)
				if len(ev.Records) == 0 {
					idle := busy.Add(-1) == 0
					if idle && q.Len() == 0 {
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				sh, err := campaign.ParseShard(ev.Records[0].Body)
				if err == nil {
					// A shard under way finishes even past -for: a Lambda's own deadline is its timeout.
					_, err = env.Campaigns.DecideShard(context.WithoutCancel(ctx), sh)
				}
				var resp events.SQSEventResponse
				if err != nil {
					resp.BatchItemFailures = []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}
				}
				q.Done(ev, resp)
				busy.Add(-1)
				if err != nil {
					failed.Add(1)
					if failed.Load() > 100 {
						errs <- fmt.Errorf("over 100 shards failed; the last: %w", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return int(failed.Load()), errors.Join(all...)
}

// shardPeak measures one shard worker: the Go heap's peak above idle while
// it decides one shard of a second campaign to everyone, and how many
// customers that shard decided.
func shardPeak(ctx context.Context, env *local.Env, r *campaigns.Runner, c campaign.Campaign) (uint64, int, error) {
	probe := c
	probe.ID = "million-probe"
	if err := env.Store.CreateCampaign(ctx, probe); err != nil {
		return 0, 0, err
	}
	if _, err := env.Campaigns.Send(ctx, probe, env.Now()); err != nil {
		return 0, 0, err
	}
	// The probe's first shard: the last one queued (a run stopped by -for
	// leaves the main campaign's before it).
	var ev events.SQSEvent
	for next := env.Queue.Shards.Take(1); len(next.Records) > 0; next = env.Queue.Shards.Take(1) {
		if sh, err := campaign.ParseShard(next.Records[0].Body); err == nil && sh.CampaignID == probe.ID {
			ev = next
			break
		}
	}
	if len(ev.Records) == 0 {
		return 0, 0, errors.New("the probe campaign planned no shard")
	}
	sh, err := campaign.ParseShard(ev.Records[0].Body)
	if err != nil {
		return 0, 0, err
	}
	for len(env.Queue.Shards.Take(100).Records) > 0 { // a run stopped by -for left some
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	idle := sample[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	rep, err := r.DecideShard(ctx, sh)
	close(done)
	if err != nil {
		return 0, 0, err
	}
	return max(peak.Load(), idle) - idle, rep.Audience, nil
}
