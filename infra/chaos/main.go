// Command chaos sends a newsletter to a generated ledger through the real
// SDKs to the local stand-in for LINE and SendGrid while the stand-in
// misbehaves: 500s, connections dropped before the provider takes a
// message, and answers so slow the client gives up after the provider took
// it. It then lets time pass as the hourly run would see it, and prints the
// ledger: every decided message must be sent or accounted for, nothing in
// flight, no duplicates, and no email lost.
//
//	go run ./infra/chaos -customers 20000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

type faults struct {
	errors, resets, slow float64
	slowFor              time.Duration
	seen, e500, dropped  atomic.Int64
	slowed               atomic.Int64
}

// wrap injects the faults into every send to LINE or SendGrid.
func (f *faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v2/bot/message/") && r.URL.Path != "/v3/mail/send" || strings.HasSuffix(r.URL.Path, "/reply") {
			next.ServeHTTP(w, r)
			return
		}
		f.seen.Add(1)
		switch p := rand.Float64(); {
		case p < f.errors:
			f.e500.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"Internal server error"}`))
		case p < f.errors+f.resets:
			f.dropped.Add(1) // dropped before the provider took it
			_, _ = io.Copy(io.Discard, r.Body)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
		case p < f.errors+f.resets+f.slow:
			f.slowed.Add(1) // taken, then an answer too late for the client
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			time.Sleep(f.slowFor)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func main() {
	n := flag.Int("customers", 20000, "customers in the generated ledger")
	errorsP := flag.Float64("errors", 0.05, "share of provider requests answered 500")
	resets := flag.Float64("resets", 0.03, "share dropped before the provider took them")
	slow := flag.Float64("slow", 0.02, "share taken, then answered after the client gave up")
	invocations := flag.Int("invocations", 8, "concurrent senders")
	flag.Parse()
	if err := run(*n, &faults{errors: *errorsP, resets: *resets, slow: *slow, slowFor: 16 * time.Second}, *invocations); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(n int, f *faults, invocations int) error {
	dir, err := os.MkdirTemp("", "daifuku-chaos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	os.Setenv("SENDGRID_API_KEY", "")
	c, err := content.ContentFromEnv()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "daifuku.log"))
	if err != nil {
		return err
	}
	var offset atomic.Int64 // the hourly run's view of time moves on without waiting for it
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ctx := context.Background()
	env, err := local.Start(ctx, local.Options{Dir: dir, DynamoDB: os.Getenv("DYNAMODB_ENDPOINT"), Content: c, Clock: clock,
		Prefix: fmt.Sprintf("chaos%d-", time.Now().Unix()), Visibility: 200 * time.Millisecond, Invocations: invocations,
		CaptureFaults: f.wrap, Log: slog.New(slog.NewJSONHandler(logFile, nil))})
	if err != nil {
		return err
	}
	defer env.Close()

	began := time.Now()
	cs := seed.Ledger(n, 2026, clock())
	for _, cu := range cs {
		cu.Rank = rank.Evaluate(c.Rules, cu, clock()).String()
	}
	if err := env.Store.PutCustomers(ctx, cs); err != nil {
		return err
	}
	camp := campaign.Campaign{ID: "chaos", Title: "冬のお便り", SendAt: clock(), Audience: campaign.Audience{All: true},
		Templates: map[string]string{"royal": "newsletter/2026-winter-royal", "default": "newsletter/2026-winter-default"}}
	if err := env.Store.CreateCampaign(ctx, camp); err != nil {
		return err
	}
	fmt.Printf("%d customers; faults on provider requests: %.0f%% 500s, %.0f%% dropped before taken, %.0f%% taken then answered after %s\n",
		n, 100*f.errors, 100*f.resets, 100*f.slow, f.slowFor)

	s := local.NewSummary()
	reps, err := env.Campaigns.SendDue(ctx, clock())
	if err != nil {
		fmt.Println("campaign run:", err) // its batches are retried by the next runs
	}
	for _, r := range reps {
		fmt.Printf("fan-out: %d customers, %d multicast in %d requests, %d pushes, %d emails, %d skipped, %d handed over\n",
			r.Audience, r.Multicast, r.Batches, r.Push, r.Email, r.Skipped, r.Handed)
	}
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	fmt.Printf("first drain: %s, %d jobs failed every try\n", time.Since(began).Round(time.Second), s.DeadJobs)

	// The hourly run, as time passes: campaigns retried, stranded messages
	// swept, ambiguous emails without a processed event sent again.
	for hour := 1; hour <= 6; hour++ {
		offset.Add(int64(time.Hour))
		out, err := env.Tasks().Handle(ctx, []byte(`{"task":"release"}`))
		if err != nil {
			fmt.Println("hourly run:", err)
		}
		s := local.NewSummary()
		if err := env.Finish(ctx, s); err != nil {
			return err
		}
		p, err := env.Campaigns.Progress(ctx, camp.ID)
		if err != nil {
			return err
		}
		fmt.Printf("hour %d: %s; %s\n", hour, out, p.State.Status)
		stuck, err := env.Reconciler.Stuck(ctx, clock().Add(time.Hour), 0)
		if err != nil {
			return err
		}
		if p.State.Status == campaign.Sent && len(stuck) == 0 {
			break
		}
	}
	return report(ctx, env, camp.ID, f, time.Since(began))
}

func report(ctx context.Context, env *local.Env, id string, f *faults, took time.Duration) error {
	p, err := env.Campaigns.Progress(ctx, id)
	if err != nil {
		return err
	}
	// What the stand-in took: one copy per email message key, per LINE friend.
	emails, friends := map[string]int{}, map[string]int{}
	for _, req := range env.Capture.Requests("email") {
		var m struct {
			CustomArgs map[string]string `json:"custom_args"`
		}
		_ = json.Unmarshal(req.Body, &m)
		emails[m.CustomArgs["message_key"]]++
	}
	for _, req := range env.Capture.Requests("line") {
		if strings.HasSuffix(req.Path, "/reply") {
			continue
		}
		var m struct {
			To json.RawMessage `json:"to"`
		}
		_ = json.Unmarshal(req.Body, &m)
		var many []string
		if json.Unmarshal(m.To, &many) != nil {
			var one string
			_ = json.Unmarshal(m.To, &one)
			many = []string{one}
		}
		for _, u := range many {
			friends[u]++
		}
	}
	dup := 0
	for _, n := range emails {
		dup += max(0, n-1)
	}
	for _, n := range friends {
		dup += max(0, n-1)
	}
	lost, ambiguousTaken, ambiguousNot := 0, 0, 0
	stuck, err := env.Reconciler.Stuck(ctx, env.Now().Add(24*time.Hour), 0)
	if err != nil {
		return err
	}
	// An email recorded as gone (sent, delivered…) that SendGrid never took is lost.
	recs, err := allCampaignMessages(ctx, env, id)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Channel != "email" {
			continue
		}
		taken := emails[string(r.Key)] > 0
		switch {
		case r.Status == message.Ambiguous && taken:
			ambiguousTaken++
		case r.Status == message.Ambiguous:
			ambiguousNot++
		case !taken && r.Status != message.Failed && r.Status != message.Skipped && r.Status != message.Suppressed && r.Status != message.Deferred:
			lost++
		}
	}
	var statuses []string
	for st := range p.Messages {
		statuses = append(statuses, string(st))
	}
	sort.Strings(statuses)
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nafter %s: provider requests %d (%d answered 500, %d dropped, %d answered late)\n", took.Round(time.Second),
		f.seen.Load(), f.e500.Load(), f.dropped.Load(), f.slowed.Load())
	fmt.Fprintf(&b, "ledger of campaign %s (%s): %d decided\n", id, p.State.Status, p.Decided())
	for _, st := range statuses {
		byCh := p.Messages[message.Status(st)]
		fmt.Fprintf(&b, "  %-10s line %6d  email %6d  none %6d\n", st, byCh["line"], byCh["email"], byCh["-"])
	}
	fmt.Fprintf(&b, "in flight (queued, retry, sending): %d; stranded: %d\n", p.InFlight(), len(stuck))
	fmt.Fprintf(&b, "duplicates (extra copies taken by the provider): %d\n", dup)
	fmt.Fprintf(&b, "emails still ambiguous: %d taken, %d not taken; lost emails (recorded gone, never taken): %d\n",
		ambiguousTaken, ambiguousNot, lost)
	fmt.Print(b.String())
	if p.InFlight() > 0 || len(stuck) > 0 || dup > 0 || lost > 0 || ambiguousNot > 0 {
		return fmt.Errorf("the ledger does not add up")
	}
	return nil
}

// allCampaignMessages reads every message of the campaign, customer by
// customer: the report's own check of the ledger, apart from its indexes.
func allCampaignMessages(ctx context.Context, env *local.Env, id string) ([]*message.Record, error) {
	var out []*message.Record
	_, err := env.Store.ScanCustomers(ctx, func(cs []*customer.Customer) error {
		for _, cu := range cs {
			rec, err := env.Store.Message(ctx, message.CampaignKey(cu.ID, id))
			if errors.Is(err, domain.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}
