// Command ratebench checks that senders running side by side keep to the
// account's rate (make bench-rate): K sender instances, each an App of its
// own as a Lambda instance would be, work one send queue through the real
// LINE and SendGrid clients to a stand-in that allows RATE requests a
// second per provider and answers 429 above it (LINE_API_ENDPOINT and
// SENDGRID_API_HOST name another). It reports the accepted rate as a share
// of the limit, the 429s and the messages taken twice.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/queue"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/templates"
)

func main() {
	perSecond := flag.Float64("rate", 50, "the account's limit, requests a second per provider")
	instances := flag.String("instances", "1,4,16", "sender instances side by side, one run each")
	seconds := flag.Float64("seconds", 20, "how long the work would take at the limit")
	flag.Parse()
	if err := run(context.Background(), *perSecond, *instances, *seconds); err != nil {
		fmt.Fprintln(os.Stderr, "ratebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, perSecond float64, instances string, seconds float64) error {
	if !(perSecond >= delivery.MinRate && perSecond <= delivery.MaxRate) || !(seconds > 0) {
		return fmt.Errorf("-rate %v -seconds %v: want a rate from %.4f to %d requests/s and a positive time", perSecond, seconds, delivery.MinRate, delivery.MaxRate)
	}
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
		if err != nil {
			return err
		}
		defer srv.Stop()
		endpoint = srv.Endpoint
	}
	c, err := content.LoadContent(templates.FS)
	if err != nil {
		return err
	}
	c.Policy.Rates = map[customer.Channel]float64{customer.LINE: perSecond, customer.Email: perSecond}
	fmt.Printf("account limit %.0f requests/s per provider (LINE push, SendGrid mail send); %.0f s of work each\n", perSecond, seconds)
	fmt.Printf("%-9s  %-8s  %8s  %9s  %8s  %10s  %5s  %s\n", "INSTANCES", "PROVIDER", "ACCEPTED", "STEADY/s", "OF LIMIT", "WHOLE RUN", "429s", "TAKEN TWICE")
	for _, k := range strings.Split(instances, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n < 1 {
			return fmt.Errorf("-instances %q: want numbers ≥ 1, e.g. 1,4,16", instances)
		}
		if err := once(ctx, endpoint, c, perSecond, n, int(perSecond*seconds)); err != nil {
			return err
		}
	}
	return nil
}

// noon is when the bench acts: no quiet hours hold anything back.
var noon = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

// once sends perProvider messages by LINE and as many by email through n
// senders, and prints what the providers saw.
func once(ctx context.Context, endpoint string, c *content.Content, perSecond float64, n, perProvider int) error {
	stand := newStandIn(perSecond)
	srv := httptest.NewServer(stand)
	defer srv.Close()
	lineURL, mailURL := envOr("LINE_API_ENDPOINT", srv.URL), envOr("SENDGRID_API_HOST", srv.URL)
	db := dynamolocal.Client(endpoint)
	prefix := fmt.Sprintf("rate%d-%d-", n, time.Now().UnixNano())
	if err := dynamolocal.CreateTables(ctx, db, prefix); err != nil {
		return err
	}
	tables := dynamo.TablesWithPrefix(prefix)
	store := dynamo.New(db, tables)
	q := &queue.Memory{Jobs: queue.Lane{Name: "send", Visibility: 2 * time.Second}}

	// The work: customers, each with one step message decided and queued.
	var cs []*customer.Customer
	var jobs []message.Job
	for i := range 2 * perProvider {
		cu := &customer.Customer{ID: fmt.Sprintf("B%06d", i), Name: "見本", Rank: "new", SignedUpAt: noon.AddDate(0, -1, 0)}
		ch := customer.Email
		if i%2 == 0 {
			ch, cu.LINEUserID, cu.Consent.LINE = customer.LINE, fmt.Sprintf("U%032x", i), true
		} else {
			cu.Email, cu.Consent.Email = fmt.Sprintf("b%06d@example.jp", i), true
		}
		cs = append(cs, cu)
		key := message.NewKey(message.Step, cu.ID, "bench")
		job := message.Job{Key: key, Kind: message.Step, CustomerID: cu.ID, Rank: "new", Template: "step/new-care", Channel: ch,
			Plan: "new", PlanVersion: 1, Step: "care", QueuedAt: noon}
		rec := message.Record{Key: key, Kind: message.Step, CustomerID: cu.ID, Rank: "new", Template: job.Template, Plan: "new",
			PlanVersion: 1, Step: "care", Status: message.Queued, CreatedAt: noon, UpdatedAt: noon, Job: &job}
		if _, err := store.CreateMessage(ctx, rec, delivery.CapChange{}); err != nil {
			return err
		}
		jobs = append(jobs, job)
	}
	if err := store.PutCustomers(ctx, cs); err != nil {
		return err
	}
	if err := q.Enqueue(ctx, jobs...); err != nil {
		return err
	}

	// n senders, each an App of its own (its own limiters), as Lambda runs them.
	log := slog.New(slog.DiscardHandler)
	var g errgroup.Group
	start := time.Now()
	for range n {
		lc, err := line.New("bench", lineURL, nil)
		if err != nil {
			return err
		}
		mc, err := sendgrid.New("bench", mailURL, nil)
		if err != nil {
			return err
		}
		a := app.New(app.Deps{DB: db, Tables: tables, Queue: q, Batches: q, Content: c, LINE: lc, Mail: mc, Log: log,
			Clock: func() time.Time { return noon.Add(time.Since(start)) }, BaseURL: "http://localhost:3000",
			UnsubscribeSecret: "bench", Senders: n, Holder: "bench"})
		g.Go(func() error {
			_, err := q.Jobs.Work(ctx, 1, handler.SendJobs(a.Sender))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, name := range []string{"line", "email"} {
		st := stand.stats(name)
		fmt.Printf("%-9d  %-8s  %8d  %9.1f  %7.1f%%  %9.1f%%  %5d  %d\n", n, name, st.accepted, st.steady, 100*st.steady/perSecond,
			100*st.whole/perSecond, st.refused, st.dupes)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
