// Command daifuku is the local and marketer-side tool: run the main job on
// this machine, import a shop's spreadsheets, validate the templates.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/simulate"
	contentpkg "github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/edge/app"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/monthly"
	"github.com/daifuku/daifuku/shared/flows/pointcard"
	"github.com/daifuku/daifuku/shared/flows/publishing"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
)

const usage = `usage: daifuku <command> [flags]

commands:
  run                         start DynamoDB Local and the capture servers, import the
                              sample ledger, send what it queues, print a summary
  import customers FILE.csv   add or update customers
  import orders FILE.csv      record orders (and thank them, when recent)
  serve                       the HTTP API on localhost:3000 (as sam local start-api),
                              webhooks included, against DynamoDB Local; -addr to move it
  feedback                    what customers said (replies, ratings, answers), newest
                              first; -days N (7)
  voice                       customer voice (お客様の声): comments customers agreed to
                              publish, without names; -format markdown|csv|json, -limit N
  voice withdraw FEEDBACK_ID  take a comment out of customer voice
  customer ID                 one customer's timeline: rank changes, messages, orders,
                              points, feedback, opt-outs and referrals, newest first; -format text|json
  points ID                   a customer's points card: every entry (date in their zone,
                              reason, points, order or note, balance after, lot expiry)
                              and the balance; -format text|json
  points adjust ID N -reason "…"  add (or, negative, take away) N points; the reason is
                              required and kept; the balance never goes below zero
  consent ID email|line on|off --reason "…"
                              record a consent change staff were asked for (reason
                              required; kept in the consent records, see docs/consent.md)
  release                     the hourly run: release deferred messages whose time has
                              come, send the campaigns that are due
  schedule                    the daily run; -date D, -dry-run
  campaign create|send        create a newsletter campaign; send the due ones
  campaign status ID          where a campaign stands: who holds it, its shards (and
                              those missing, and why), its messages by status and channel
  campaign resume ID          take over a campaign whose run is gone (or that stopped
                              because it was edited), and finish it
  campaign cancel ID          stop a campaign for good: its shards left decide nobody
  event create                an event or seminar: -id -title -starts-at "2026-12-12 14:00"
                              -zone Asia/Tokyo -place|-url -capacity N -ranks|-tags
                              [-invite-days 14 -early-ranks -early-days] (see events.yaml)
  event list|status EVENT     events with invited/attending/waitlisted/attended counts
  event attend EVENT CUSTOMER…  record who came (or --csv FILE with a customer_id column;
                              a bad row refuses the whole file, naming it)
  messages stuck              messages in flight past due (-grace 1h), and why
  messages redrive -all|KEY…  send stuck messages again
  content export DIR          write the published content set into DIR, byte for byte
  content import DIR          publish the content set in DIR, whole, as one revision
                              (checked first: a set that would not run changes nothing)
  report                      did it work: per rank, kind, plan version, step, template and
                              variant, repurchase of treated against held-out customers,
                              with a 95% interval; -month YYYY-MM, -format table|csv|json|html
  report -store               the monthly run of the 1st: the month before -now's (or
                              -month) stored in .local/reports/ (html and json), its
                              summary emailed once to OWNER_EMAIL (through the capture
                              server: .local/outbox/email)
  validate                    check rank rules, shop and every template (TEMPLATES_DIR,
                              or the built-in copy)

flags:
  -dir .local      state folder (DynamoDB data, outbox)
  -seed infra/seed the sample ledger for run
  -now TIME        act as if it were TIME (RFC 3339), e.g. to release tonight's
                   deferred messages as tomorrow morning would
Environment: DYNAMODB_ENDPOINT, LINE_CHANNEL_ACCESS_TOKEN, LINE_API_ENDPOINT,
SENDGRID_API_KEY, SENDGRID_API_HOST, TEMPLATES_DIR (fixes the content to that
folder instead of the one published in the local content table),
STUDIO_DEV_TOKEN.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "daifuku:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".local", "state folder")
	seed := fs.String("seed", "infra/seed", "sample ledger folder")
	date := fs.String("date", "", "schedule: run as on this date (YYYY-MM-DD)")
	dryRun := fs.Bool("dry-run", false, "schedule: decide and list, send and write nothing")
	cID := fs.String("id", "", "campaign id")
	cTitle := fs.String("title", "", "campaign title")
	cSendAt := fs.String("send-at", "", "campaign send time, RFC 3339")
	cRanks := fs.String("ranks", "", "campaign audience: rank ids, comma separated")
	cTags := fs.String("tags", "", "campaign audience: tags, comma separated")
	cAll := fs.Bool("all", false, "campaign create: audience everyone who agreed to hear from us; messages redrive: every stuck message")
	cTemplates := fs.String("templates", "", "campaign templates: rank=folder,…, with default=")
	cEarlyRanks := fs.String("early-ranks", "", "campaign early access: rank ids, comma separated (default: campaigns.yaml's early_access)")
	cHoldout := fs.String("holdout", "", "campaign create: a share of the audience held out to measure it, e.g. 10%")
	cEarlyHours := fs.Int("early-hours", -1, "campaign early access: hours before send-at (0: none; default: campaigns.yaml's early_access)")
	cVariants := fs.String("variants", "", "campaign create: templates with weights, e.g. newsletter/a:50,newsletter/b:50 (in place of -templates)")
	cTestShare := fs.String("test-share", "", "campaign create: test first: the share that gets the variants, e.g. 20%")
	cTestAfter := fs.Duration("test-after", 0, "campaign create: test first: how long after the test to send the winner to the rest, e.g. 4h")
	cWinnerBy := fs.String("winner-by", "", "campaign create: test first: what makes the winner, clicks or purchases")
	addr := fs.String("addr", "127.0.0.1:"+envOr("PORT", "3000"), "serve: where the API listens")
	format := fs.String("format", "", "voice: markdown (default), csv or json; customer: text (default) or json; report: table (default), csv, json or html")
	nowFlag := fs.String("now", "", "act as if it were this time (RFC 3339)")
	limit := fs.Int("limit", 0, "voice: at most this many, newest first (0: all)")
	days := fs.Int("days", 7, "feedback: this many days back")
	reason := fs.String("reason", "", "consent, points adjust: why (required; kept with the record or entry)")
	month := fs.String("month", "", "report: the month, YYYY-MM (default: this month in Japan; with -store, the month before)")
	store := fs.Bool("store", false, "report: store the month's report and email its summary, as the schedule does on the 1st")
	simCustomers := fs.Int("customers", 2000, "simulate: customers in the synthetic shop")
	simMonths := fs.Int("months", 2, "simulate: months to report")
	simEffect := fs.Float64("effect", 0.1, "simulate: every step's true lift on repurchase within its window (0.1: ten points)")
	grace := fs.Duration("grace", reconcile.DefaultGrace, "messages stuck: in flight this long past due")
	all := cAll
	// TEMPLATES_DIR fixes the content to a folder; otherwise the content
	// published in the local table (seeded from templates/) is used.
	var content *contentpkg.Content
	var err error
	var evArgs *eventArgs // `daifuku event …` parses its own flags (event.go)
	if os.Getenv("TEMPLATES_DIR") != "" || args[0] == "validate" {
		if content, err = contentpkg.ContentFromEnv(); err != nil {
			return err
		}
	}
	switch args[0] {
	case "validate":
		for _, w := range content.Plans.Warnings() {
			fmt.Println("warning:", w)
		}
		fmt.Println("rank rules, shop and templates are valid")
		return nil
	case "run", "import", "stubs", "schedule", "serve", "voice", "feedback", "customer", "release", "report", "simulate", "consent":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
	case "points":
		// Positionals first ("adjust ID -30" has a negative number in them), flags after.
		pos, flags := splitPointsArgs(args[1:])
		if err := fs.Parse(flags); err != nil {
			return err
		}
		args = append(args[:1:1], pos...)
	case "campaign", "messages", "content":
		subs := map[string][]string{"campaign": {"create", "send", "status", "resume", "cancel"}, "messages": {"stuck", "redrive"},
			"content": {"export", "import"}}[args[0]]
		if len(args) < 2 || !slices.Contains(subs, args[1]) {
			return fmt.Errorf("usage: daifuku %s %s [flags]", args[0], strings.Join(subs, "|"))
		}
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
	case "event":
		if evArgs, err = parseEventArgs(args[1:], dir, nowFlag); err != nil {
			return err
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}

	if args[0] == "content" && os.Getenv("CONTENT_TABLE") != "" {
		// A deployed content table, with the caller's AWS credentials.
		desk, err := app.ContentDesk(ctx, os.Getenv("CONTENT_TABLE"))
		if err != nil {
			return err
		}
		return contentCommand(ctx, desk, args[1], fs.Args())
	}

	// Logs go to a file: the terminal shows the summary.
	logFile, err := openLog(*dir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	if args[0] == "simulate" {
		n, err := strconv.ParseUint(*seed, 10, 64)
		if err != nil {
			n = 1 // -seed names the sample ledger's folder for run; a simulation's seed is a number
		}
		end, err := clockFrom(*nowFlag)
		if err != nil {
			return err
		}
		return simulateShop(ctx, *dir, logFile, simulate.Options{Customers: *simCustomers, Months: *simMonths,
			Effect: *simEffect, Seed: n, End: end()}, true)
	}
	clock, err := clockFrom(*nowFlag)
	if err != nil {
		return err
	}
	opts := local.Options{
		Dir: *dir, DynamoDB: os.Getenv("DYNAMODB_ENDPOINT"), Content: content, Clock: clock,
		Log: slog.New(slog.NewJSONHandler(logFile, nil)),
	}
	if args[0] == "stubs" {
		// Docker containers reach the host, so listen beyond loopback.
		opts.CaptureAddr, opts.Capture = ":8090", true
	}
	env, err := local.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	content = env.Content

	summary := local.NewSummary()
	switch args[0] {
	case "schedule":
		return schedule(ctx, env, *date, *dryRun)
	case "content":
		return contentCommand(ctx, env.Desk, args[1], fs.Args())
	case "event":
		return eventCommand(ctx, env, content, evArgs)
	case "messages":
		if args[1] == "stuck" {
			return stuck(ctx, env, *grace)
		}
		return redrive(ctx, env, fs.Args(), *all)
	case "campaign":
		switch args[1] {
		case "send":
			return sendCampaigns(ctx, env)
		case "status":
			return campaignStatus(ctx, env, fs.Args())
		case "resume":
			return resumeCampaign(ctx, env, fs.Args())
		case "cancel":
			if len(fs.Args()) != 1 {
				return fmt.Errorf("usage: daifuku campaign cancel CAMPAIGN_ID")
			}
			if err := env.Campaigns.Cancel(ctx, fs.Args()[0], env.Now()); err != nil {
				return err
			}
			fmt.Printf("campaign %s cancelled: nothing more is decided, and its newsletters still queued are skipped; multicasts LINE took before are out\n", fs.Args()[0])
			return nil
		}
		c := campaign.Campaign{ID: *cID, Title: *cTitle, Templates: map[string]string{},
			Audience: campaign.Audience{Ranks: list(*cRanks), Tags: list(*cTags), All: *cAll}}
		if c.SendAt, err = time.Parse(time.RFC3339, *cSendAt); err != nil {
			return fmt.Errorf("-send-at %q: want RFC 3339, e.g. 2026-12-24T10:00:00+09:00", *cSendAt)
		}
		for _, kv := range list(*cTemplates) {
			k, v, _ := strings.Cut(kv, "=")
			c.Templates[k] = v
		}
		if e := content.EarlyAccess; e != nil {
			c.Early = &campaign.Early{Ranks: e.Ranks, Hours: e.Hours}
		}
		if *cEarlyRanks != "" || *cEarlyHours >= 0 {
			c.Early = &campaign.Early{Ranks: list(*cEarlyRanks), Hours: max(*cEarlyHours, 0)}
			if *cEarlyRanks == "" && content.EarlyAccess != nil {
				c.Early.Ranks = content.EarlyAccess.Ranks
			}
			if *cEarlyHours < 0 && content.EarlyAccess != nil {
				c.Early.Hours = content.EarlyAccess.Hours
			}
		}
		if *cHoldout != "" {
			if c.Holdout, err = experiment.ParseShare(*cHoldout); err != nil {
				return fmt.Errorf("-holdout: %w", err)
			}
		}
		if c.Variants, err = parseVariants(*cVariants); err != nil {
			return err
		}
		if *cTestShare != "" || *cTestAfter != 0 || *cWinnerBy != "" {
			c.Test = &campaign.Test{After: *cTestAfter, WinnerBy: campaign.Rule(*cWinnerBy)}
			if c.Test.Share, err = experiment.ParseShare(*cTestShare); err != nil {
				return fmt.Errorf("-test-share: %w", err)
			}
		}
		if err := c.Validate(content.Known()); err != nil {
			return err
		}
		for _, w := range c.Warnings() {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		if err := env.Store.CreateCampaign(ctx, c); err != nil {
			return err
		}
		fmt.Printf("campaign %s scheduled for %s\n", c.ID, c.SendAt.Format(time.RFC3339))
		if r := c.EarlyRanks(); r != nil {
			fmt.Printf("early access: %s from %s\n", strings.Join(r, ", "), c.EarlyAt().Format(time.RFC3339))
		}
		if t := c.Test; t != nil {
			fmt.Printf("test first: %s of the audience get the variants; %s later the winner by %s goes to the rest\n", t.Share, t.Wait(), t.WinnerBy)
		}
		// Whether its LINE messages fit in this month's quota, as of now.
		if fit, err := env.Campaigns.QuotaFit(ctx, c, env.Now()); err != nil {
			return err
		} else if fit != nil {
			fmt.Println(fit)
		}
		return nil
	case "serve":
		if err := env.Recover(ctx, summary); err != nil {
			return err
		}
		return env.Serve(ctx, *addr, func(url string) {
			fmt.Printf("daifuku API: %s (POST /orders, /webhooks/line, /webhooks/sendgrid/events, /webhooks/sendgrid/inbound/…)\n"+
				"studio (templates, preview, publish): %s\n"+
				"DynamoDB Local: %s; capture server: %s → %s/outbox; logs: %s/daifuku.log\nCtrl-C stops.\n",
				url, local.StudioURL(url), env.DynamoDB, env.CaptureURL, *dir, *dir)
		})
	case "voice":
		return voice(ctx, env, fs.Args(), *format, *limit)
	case "report":
		if *store {
			return storeReport(ctx, env, *dir, *month)
		}
		return printReport(ctx, env, *month, *format)
	case "points":
		return pointsCommand(ctx, env, args[1:], *reason, *format)
	case "customer":
		if len(fs.Args()) != 1 {
			return fmt.Errorf("usage: daifuku customer [-format text|json] CUSTOMER_ID")
		}
		return printTimeline(ctx, env, fs.Args()[0], *format)
	case "consent":
		return staffConsent(ctx, env, fs, *reason)
	case "release":
		return release(ctx, env)
	case "feedback":
		return listFeedback(ctx, env, *days)
	case "stubs":
		fmt.Printf("DynamoDB Local: %s (tables %s*)\ncapture server: %s (LINE, SendGrid, SQS) → %s/outbox\nCtrl-C stops both.\n",
			env.DynamoDB, local.TablePrefix, env.CaptureURL, *dir)
		<-ctx.Done()
		return nil
	case "run":
		if summary, err = env.Run(ctx, *seed); err != nil {
			return err
		}
	case "import":
		rest := fs.Args()
		if len(rest) != 2 {
			return fmt.Errorf("usage: daifuku import customers|orders FILE.csv")
		}
		switch rest[0] {
		case "customers":
			err = env.ImportCustomers(ctx, rest[1], summary)
		case "orders":
			if err = env.Recover(ctx, summary); err == nil {
				if _, err = env.ImportOrders(ctx, rest[1], summary); err == nil {
					err = env.Finish(ctx, summary)
				}
			}
		default:
			err = fmt.Errorf("import %q: want customers or orders", rest[0])
		}
		if err != nil {
			return err
		}
	}
	summary.Print(os.Stdout)
	if args[0] == "run" {
		// What the owner will see after a month: a compact simulation of
		// the shop's last two months, with holdouts, and its report page.
		fmt.Println("\nthe monthly report, on a simulated shop (daifuku simulate):")
		if err := simulateShop(ctx, *dir, logFile, simulate.Options{Customers: 300, Months: 2, Effect: 0.1, Seed: 1, End: env.Now()}, false); err != nil {
			return err
		}
	}
	if env.Capture != nil {
		fmt.Printf("outbox: %s/outbox/line and %s/outbox/email hold every request body the capture servers received\n", *dir, *dir)
	}
	fmt.Printf("logs: %s/daifuku.log\n", *dir)
	return nil
}

// schedule runs (or dry-runs) the daily schedule and lists its decisions.
func schedule(ctx context.Context, env *local.Env, date string, dryRun bool) error {
	now := env.Now()
	if date != "" {
		var err error
		if now, err = daily.DateAt(date, customer.DefaultLocation()); err != nil {
			return err
		}
	}
	rep, err := env.Daily.Run(ctx, now, dryRun)
	if err != nil {
		return err
	}
	verb := "decided"
	if dryRun {
		verb = "would send (dry run: nothing written or sent)"
	}
	fmt.Printf("schedule %s: %d customers due, %d index items read, %d lapsed, %d decided before; %s:\n",
		rep.Date, rep.Customers, rep.ItemsRead, rep.Lapsed, rep.Repeated, verb)
	if ps := env.Daily.Plans; ps != nil {
		fmt.Printf("plans version %d", ps.Version)
		if !ps.Started.IsZero() {
			fmt.Printf(" (since %s)", ps.Started)
		}
		if ps.Hypothesis != "" {
			fmt.Printf(": %s", ps.Hypothesis)
		}
		fmt.Println()
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CUSTOMER\tKIND\tPLAN/STEP (VERSION)\tTEMPLATE\tDECISION\tNOT BEFORE")
	for _, d := range rep.Decisions {
		status := string(d.Status)
		if d.Reason != "" {
			status += " (" + d.Reason + ")"
		}
		step, nb := "-", "-"
		if d.Step != "" {
			step = fmt.Sprintf("%s/%s (v%d)", d.Plan, d.Step, env.Daily.Plans.Version)
		}
		if !d.NotBefore.IsZero() {
			nb = d.NotBefore.Format(time.RFC3339)
		}
		tpl := d.Template
		if tpl == "" {
			tpl = string(d.Kind) + "/<rank>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.CustomerID, d.Kind, step, tpl, status, nb)
	}
	tw.Flush()
	if dryRun {
		return nil
	}
	s := local.NewSummary()
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	if s.DeadJobs > 0 {
		fmt.Printf("%d jobs failed every try: `daifuku messages stuck` says why\n", s.DeadJobs)
	}
	return nil
}

// voice prints customer voice, or withdraws one comment from it.
func voice(ctx context.Context, env *local.Env, args []string, format string, limit int) error {
	if len(args) == 2 && args[0] == "withdraw" {
		if err := env.Voice.Withdraw(ctx, args[1]); err != nil {
			return err
		}
		fmt.Printf("%s is no longer published\n", args[1])
		return nil
	}
	if len(args) != 0 {
		return fmt.Errorf("usage: daifuku voice [-format markdown|csv|json] [-limit N] | daifuku voice withdraw FEEDBACK_ID")
	}
	ts, err := env.Voice.Testimonials(ctx, limit)
	if err != nil {
		return err
	}
	switch format {
	case "markdown", "":
		return feedback.WriteMarkdown(os.Stdout, env.Voice.Shop, ts)
	case "csv":
		return feedback.WriteCSV(os.Stdout, ts)
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ts)
	}
	return fmt.Errorf("-format %q: want markdown, csv or json", format)
}

// listFeedback prints what customers said, for the shop to read and answer.
func listFeedback(ctx context.Context, env *local.Env, days int) error {
	fbs, err := env.Store.FeedbackSince(ctx, env.Now().AddDate(0, 0, -days))
	if err != nil {
		return err
	}
	fmt.Printf("%d pieces of feedback in the last %d days, newest first:\n", len(fbs), days)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tCUSTOMER\tCHANNEL\tTYPE\tANSWERS\tSAYS\tPUBLISH")
	for _, f := range fbs {
		about := string(f.Kind)
		if about == "" {
			about = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.At.In(customer.DefaultLocation()).Format("2006-01-02 15:04"), f.CustomerID, f.Channel, f.Type,
			about, f.Says(50), f.Testimonial)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if counts := env.Content.Feedback.Tally(fbs); len(counts) > 0 {
		fmt.Println("\nanswers to the questions (feedback.yaml):")
		for _, c := range counts {
			fmt.Printf("  %s: %s (%s) %d\n", c.Question, c.Choice.Label, c.Choice.Value, c.N)
		}
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func openLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(dir+"/daifuku.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

// clockFrom is the wall clock, or, given a time, a clock that starts there
// and runs on as the wall clock does.
func clockFrom(now string) (func() time.Time, error) {
	if now == "" {
		return time.Now, nil
	}
	at, err := time.Parse(time.RFC3339, now)
	if err != nil {
		return nil, fmt.Errorf("-now %q: want RFC 3339, e.g. 2026-12-01T09:00:00+09:00", now)
	}
	offset := time.Until(at)
	return func() time.Time { return time.Now().Add(offset) }, nil
}

// release runs the hourly task, then sends what it queued.
func release(ctx context.Context, env *local.Env) error {
	s := local.NewSummary()
	if err := env.Recover(ctx, s); err != nil {
		return err
	}
	out, err := env.Tasks().Handle(ctx, []byte(`{"task":"release"}`))
	if err != nil {
		return err
	}
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	fmt.Printf("as of %s: %s; %d messages handed to the sender\n", env.Now().In(customer.DefaultLocation()).Format("2006-01-02 15:04 MST"), out, s.Queued)
	s.Print(os.Stdout)
	return nil
}

// storeReport runs the schedule's monthly task, as EventBridge Scheduler
// would on the 1st (or for the month named), and says where it all went.
func storeReport(ctx context.Context, env *local.Env, dir, month string) error {
	ev, err := json.Marshal(handler.Event{Task: "report", Month: month})
	if err != nil {
		return err
	}
	out, err := env.Tasks().Handle(ctx, ev)
	if err != nil {
		return err
	}
	// The capture server reports the email processed, as SendGrid would: apply it.
	s := local.NewSummary()
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	fmt.Println(out)
	if s.DeadJobs > 0 {
		fmt.Printf("%d jobs failed every try: `daifuku messages stuck` says why\n", s.DeadJobs)
	}
	if os.Getenv("REPORTS_BUCKET") == "" {
		if month == "" {
			month = report.MonthBefore(env.Now())
		}
		page, data := monthly.Keys(month)
		fmt.Printf("page: %s (opens in a browser, offline)\njson: %s\n", filepath.Join(dir, page), filepath.Join(dir, data))
	}
	switch {
	case os.Getenv("OWNER_EMAIL") == "":
		fmt.Println("no email: set OWNER_EMAIL to have the summary sent (locally, to the capture server)")
	case env.Capture != nil && os.Getenv("SENDGRID_API_KEY") == "":
		fmt.Printf("the summary's request body is in %s/outbox/email\n", dir)
	}
	return nil
}

// printTimeline prints one customer's history, newest first.
// staffConsent records a consent change staff were asked for:
// daifuku consent CUSTOMER email|line on|off --reason "…" (flags before or after).
func staffConsent(ctx context.Context, env *local.Env, fs *flag.FlagSet, reason string) error {
	const use = `usage: daifuku consent CUSTOMER_ID email|line on|off --reason "what the customer asked, and how"`
	args := fs.Args()
	if len(args) > 3 {
		if err := fs.Parse(args[3:]); err != nil {
			return err
		}
		reason, args = fs.Lookup("reason").Value.String(), append(args[:3:3], fs.Args()...)
	}
	if len(args) != 3 || (args[2] != "on" && args[2] != "off") {
		return errors.New(use)
	}
	changed, err := env.Webhooks.SetConsent(ctx, args[0], customer.Channel(args[1]), args[2] == "on", reason)
	if err != nil {
		return err
	}
	if !changed {
		fmt.Printf("%s: %s consent was already %s; nothing recorded\n", args[0], args[1], args[2])
		return nil
	}
	fmt.Printf("%s: %s consent %s, recorded (staff: %s)\n", args[0], args[1], args[2], strings.TrimSpace(reason))
	return nil
}

// jsonOrText prints v as indented JSON for -format json, and is done; for
// text (or no format) the caller prints, and anything else is an error.
func jsonOrText(format string, v any) (done bool, err error) {
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "", "text":
		return false, nil
	}
	return true, fmt.Errorf("-format %q: want text or json", format)
}

func printTimeline(ctx context.Context, env *local.Env, id, format string) error {
	t, err := env.Timeline(ctx, id)
	if err != nil {
		return err
	}
	if done, err := jsonOrText(format, t); done {
		return err
	}
	fmt.Printf("customer %s: rank %s, %d orders, %d yen; email %s, LINE %s\n", t.CustomerID, t.Rank, t.Purchases.Count,
		t.Purchases.TotalSpend, reach(t.HasEmail, t.Consent.Email, t.Consent.EmailStatus), reach(t.HasLINE, t.Consent.LINE, t.Consent.LINEStatus))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tWHAT\tDETAIL")
	for _, e := range t.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.At.In(customer.DefaultLocation()).Format("2006-01-02 15:04"), e.Type, e.Summary)
	}
	return tw.Flush()
}

func reach(known, consent bool, status customer.ContactStatus) string {
	switch {
	case !known:
		return "none"
	case status != customer.Reachable:
		return string(status)
	case !consent:
		return "no consent"
	}
	return "ok"
}

// sendCampaigns sends the campaigns that are due and works the queue until
// it is empty: the email part goes whatever happened to LINE. A campaign held
// by another run is named, with its holder, and the exit code says so.
func sendCampaigns(ctx context.Context, env *local.Env) error {
	s := local.NewSummary()
	if err := env.Recover(ctx, s); err != nil {
		return err
	}
	reps, sendErr := env.Campaigns.SendDue(ctx, env.Now())
	s.Campaigns = reps
	if err := env.Finish(ctx, s); err != nil {
		return errors.Join(sendErr, err)
	}
	s.Print(os.Stdout)
	if sendErr != nil {
		return sendErr
	}
	var errs []error
	for _, r := range reps {
		if r.Busy != nil {
			errs = append(errs, fmt.Errorf("campaign %s was not sent: %w", r.Campaign, r.Busy))
			continue
		}
		p, err := env.Campaigns.Progress(ctx, r.Campaign)
		if err != nil {
			return err
		}
		if p.State.Status == campaign.Delivering {
			errs = append(errs, fmt.Errorf("campaign %s is still delivering: %d messages in flight (`daifuku campaign status %s`)",
				r.Campaign, p.InFlight(), r.Campaign))
		}
	}
	if s.DeadJobs > 0 {
		errs = append(errs, fmt.Errorf("%d jobs failed every try; their messages are swept again by the next run (`daifuku messages stuck`)", s.DeadJobs))
	}
	return errors.Join(errs...)
}

// parseVariants reads -variants: "folder:weight,folder:weight".
func parseVariants(s string) ([]experiment.Variant, error) {
	var out []experiment.Variant
	for _, part := range list(s) {
		dir, w, ok := strings.Cut(part, ":")
		weight, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(w), "%"), 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("-variants %q: want template:weight pairs, e.g. newsletter/a:50,newsletter/b:50", part)
		}
		out = append(out, experiment.Variant{Template: strings.TrimSpace(dir), Weight: weight})
	}
	return out, nil
}

// campaignStatus prints where a campaign stands.
func campaignStatus(ctx context.Context, env *local.Env, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: daifuku campaign status CAMPAIGN_ID")
	}
	p, err := env.Campaigns.Progress(ctx, args[0])
	if err != nil {
		return err
	}
	st := p.State
	status := string(st.Status)
	if status == "" {
		status = "scheduled"
	}
	fmt.Printf("campaign %s (%s): %s; send at %s\n", p.Campaign.ID, p.Campaign.Title, status,
		p.Campaign.SendAt.In(customer.DefaultLocation()).Format("2006-01-02 15:04 MST"))
	if st.Status == campaign.Sending {
		until := st.LeaseUntil.In(customer.DefaultLocation()).Format("2006-01-02 15:04:05 MST")
		if env.Now().Before(st.LeaseUntil) {
			fmt.Printf("held by %s until %s\n", st.LeaseHolder, until)
		} else {
			fmt.Printf("last held by %s; its lease ran out at %s: the next run takes it over\n", st.LeaseHolder, until)
		}
	}
	if st.FailedRuns > 0 {
		fmt.Printf("%d runs failed; the last said: %s\n", st.FailedRuns, st.LastError)
	}
	if st.Status == campaign.Stopped {
		fmt.Printf("stopped: %s\n", st.LastError)
	}
	printShards(st, p.Missing)
	printTest(p.Campaign, st)
	fmt.Printf("%d decided, %d still in flight\n", p.Decided(), p.InFlight())
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tLINE\tEMAIL\tNO CHANNEL")
	var statuses []string
	for status := range p.Messages {
		statuses = append(statuses, string(status))
	}
	sort.Strings(statuses)
	for _, status := range statuses {
		byCh := p.Messages[message.Status(status)]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", status, byCh["line"], byCh["email"], byCh["-"])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := p.Messages[message.Ambiguous]; n["email"] > 0 && !env.Reconciler.EmailEvents {
		fmt.Printf("%d emails stay ambiguous: without SendGrid's event webhook nothing can tell whether they went\n", n["email"])
	}
	return nil
}

// printShards says how far a campaign's fan-out got, and which shards are
// missing and why (a shard in the dead-letter queue has failed its tries).
func printShards(st campaign.State, missing []campaign.ShardRecord) {
	if st.Stage == "" || st.Fan.Total == 0 {
		return
	}
	fmt.Printf("shards (%s): %d of %d done, %d customers read\n", st.Stage, st.Fan.Done, st.Fan.Total, st.Fan.Counts["items_read"])
	for i, m := range missing {
		if i == 10 {
			fmt.Printf("  … and %d more\n", len(missing)-i)
			break
		}
		why := m.LastError
		if why == "" {
			why = "not taken yet"
		}
		fmt.Printf("  missing %s: %s, %d tries: %s\n", m.ID(), m.Status, m.Attempts, why)
	}
}

// printTest says where a campaign's test stands: when the winner goes,
// and once decided, which won, how clearly, and how each variant did.
func printTest(c campaign.Campaign, st campaign.State) {
	t := c.Test
	if t == nil {
		return
	}
	jst := func(at time.Time) string { return at.In(customer.DefaultLocation()).Format("2006-01-02 15:04 MST") }
	fmt.Printf("test first: %s of the audience get the variants, the winner by %s goes to the rest %s later\n", t.Share, t.WinnerBy, t.Wait())
	switch {
	case st.Winner != nil:
		w := st.Winner
		fmt.Println(w.Verdict())
		what := map[campaign.Rule]string{campaign.ByClicks: "CLICKED", campaign.ByPurchases: "BOUGHT AGAIN"}[w.By]
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "VARIANT\tSENT\t%s\tRATE\n", what)
		for _, r := range w.Results {
			mark := ""
			if r.Template == w.Template {
				mark = "  ← sent to the rest"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%%s\n", r.Template, r.Sent, r.Hits, r.Rate*100, mark)
		}
		_ = tw.Flush()
	case !st.TestSentAt.IsZero():
		fmt.Printf("the test share got the variants at %s; the winner is chosen from %s\n", jst(st.TestSentAt), jst(st.WinnerDue(&c)))
	}
}

// resumeCampaign takes over a campaign whose lease is held by a run known to be gone.
func resumeCampaign(ctx context.Context, env *local.Env, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: daifuku campaign resume CAMPAIGN_ID")
	}
	c, err := env.Campaigns.Find(ctx, args[0])
	if err != nil {
		return err
	}
	st, err := env.Store.CampaignState(ctx, c.ID)
	if err != nil {
		return err
	}
	if st.Status == campaign.Sending && env.Now().Before(st.LeaseUntil) {
		fmt.Fprintf(os.Stderr, "warning: taking campaign %s over from %s, whose lease runs until %s. "+
			"If that run is still going, both send at once; nobody gets two copies, but the work is done twice.\n",
			c.ID, st.LeaseHolder, st.LeaseUntil.In(customer.DefaultLocation()).Format("15:04:05 MST"))
	}
	s := local.NewSummary()
	if err := env.Recover(ctx, s); err != nil {
		return err
	}
	rep, err := env.Campaigns.Resume(ctx, c, env.Now())
	if err != nil {
		return err
	}
	s.Campaigns = []*campaigns.Report{rep}
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	s.Print(os.Stdout)
	return nil
}

// stuck lists the messages in flight past their due time plus grace, and why.
func stuck(ctx context.Context, env *local.Env, grace time.Duration) error {
	list, err := env.Reconciler.Stuck(ctx, env.Now(), grace)
	if err != nil {
		return err
	}
	fmt.Printf("%d messages in flight more than %s past due\n", len(list), grace)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE\tSTATUS\tCHANNEL\tATTEMPTS\tSWEEPS\tWHY")
	for _, st := range list {
		r := st.Record
		ch := string(r.Channel)
		if ch == "" {
			ch = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Key, r.Status, ch, r.Attempts, r.Sweeps, st.Why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) > 0 {
		fmt.Println("send them again: go run ./infra/cmd/daifuku messages redrive -all (or name message keys)")
	}
	return nil
}

// redrive sends stuck messages again on purpose.
func redrive(ctx context.Context, env *local.Env, keys []string, all bool) error {
	var ks []message.Key
	if all {
		list, err := env.Reconciler.Stuck(ctx, env.Now(), 0)
		if err != nil {
			return err
		}
		for _, st := range list {
			ks = append(ks, st.Record.Key)
		}
	}
	for _, k := range keys {
		ks = append(ks, message.Key(k))
	}
	if len(ks) == 0 {
		return fmt.Errorf("usage: daifuku messages redrive -all | MESSAGE_KEY…")
	}
	n, err := env.Reconciler.Redrive(ctx, ks)
	if err != nil {
		return err
	}
	s := local.NewSummary()
	if err := env.Finish(ctx, s); err != nil {
		return err
	}
	fmt.Printf("%d of %d messages queued again (the others were settled, or wait for their campaign's next run)\n", n, len(ks))
	still := 0
	for _, k := range ks {
		rec, err := env.Store.Message(ctx, k)
		if err != nil {
			return err
		}
		if rec.Status.OnItsWay() {
			still++
		}
	}
	if still > 0 {
		return fmt.Errorf("%d messages are still on their way (`daifuku messages stuck -grace 0`)", still)
	}
	return nil
}

// contentCommand exports or imports the content set.
func contentCommand(ctx context.Context, desk *publishing.Desk, sub string, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: daifuku content %s DIR", sub)
	}
	if sub == "export" {
		return exportContent(ctx, desk, args[0])
	}
	return importContent(ctx, desk, args[0])
}

// exportContent writes the published content set into dir, file by file,
// byte for byte, and removes content files the set no longer has (so the
// folder under git is the set).
func exportContent(ctx context.Context, desk *publishing.Desk, dir string) error {
	rev, set, err := desk.Live(ctx)
	if err != nil {
		return err
	}
	if old, err := contentset.FromFS(os.DirFS(dir)); err == nil {
		for p := range old {
			if _, ok := set[p]; !ok {
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range set.Paths() {
		file := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, set[p], 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("exported revision %d: %d files into %s\n", rev.N, len(set), dir)
	return nil
}

// importContent publishes the content set in dir, whole, as one revision.
func importContent(ctx context.Context, desk *publishing.Desk, dir string) error {
	set, err := contentset.FromFS(os.DirFS(dir))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	rev, changed, err := desk.Import(ctx, set, "import@"+host, "imported from "+dir)
	var invalid *contentset.Invalid
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Fprintln(os.Stderr, p)
		}
		return fmt.Errorf("%d problems: nothing was imported", len(invalid.Problems))
	}
	if err != nil {
		return err
	}
	if changed == 0 {
		fmt.Printf("nothing changed: revision %d stays published\n", rev.N)
		return nil
	}
	fmt.Printf("published revision %d: %d files changed\n", rev.N, changed)
	return nil
}

// simulateShop runs a synthetic shop on a DynamoDB Local of its own (in
// memory: each simulation starts afresh), prints its last month's report
// (every month's when all is set), writes each month's page into
// dir/simulate and the last month's to dir/report.html.
func simulateShop(ctx context.Context, stateDir string, logTo io.Writer, o simulate.Options, all bool) error {
	dir := filepath.Join(stateDir, "simulate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	endpoint, prefix := os.Getenv("DYNAMODB_ENDPOINT"), fmt.Sprintf("sim%d-%d-", o.Seed, time.Now().UnixNano())
	if endpoint == "" {
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
		if err != nil {
			return err
		}
		defer srv.Stop()
		endpoint, prefix = srv.Endpoint, "sim-"
	}
	started := time.Now()
	env, res, err := simulate.Shop(ctx, local.Options{Dir: dir, DynamoDB: endpoint, Prefix: prefix,
		Log: slog.New(slog.NewJSONHandler(logTo, nil))}, o)
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Printf("simulated %d customers over %s (true effect of every step: %+.1f points, seed %d): %d steps decided, %d orders, in %s\n",
		res.Customers, strings.Join(res.Months, ", "), 100*o.Effect, o.Seed, res.Decisions, res.Orders, time.Since(started).Round(time.Second))
	for i, m := range res.Months {
		if all || i == len(res.Months)-1 {
			if err := printReport(ctx, env, m, "table"); err != nil {
				return err
			}
		}
		page := filepath.Join(dir, "report-"+m+".html")
		f, err := os.Create(page)
		if err != nil {
			return err
		}
		if _, err := env.WriteReportPage(ctx, f, m); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if i == len(res.Months)-1 {
			if err := copyFile(page, filepath.Join(stateDir, "report.html")); err != nil {
				return err
			}
			fmt.Printf("report page: %s (every month's: %s)\n", filepath.Join(stateDir, "report.html"), dir)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// printReport prints a month's report: read from its counters, one item per row.
func printReport(ctx context.Context, env *local.Env, month, format string) error {
	if month == "" {
		month = report.Month(env.Now())
	}
	if format == "html" {
		_, err := env.WriteReportPage(ctx, os.Stdout, month)
		return err
	}
	rep, err := env.Report(ctx, month)
	if err != nil {
		return err
	}
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	cells := func(l report.Line) []string {
		lift, ci := "", ""
		if l.Lift != nil {
			lift = fmt.Sprintf("%+.1f pt", 100*l.Lift.Abs)
			ci = fmt.Sprintf("[%+.1f, %+.1f]", 100*l.Lift.Low, 100*l.Lift.High)
		}
		revenue := ""
		if l.RevenueLift != nil {
			revenue = fmt.Sprintf("%+.0f円 [%+.0f, %+.0f]", l.RevenueLift.Abs, l.RevenueLift.Low, l.RevenueLift.High)
		}
		needed := ""
		if l.Needed > 0 {
			needed = strconv.Itoa(l.Needed)
		}
		tpl := l.Template
		if l.TemplateVersion > 0 {
			tpl += "@v" + strconv.Itoa(l.TemplateVersion)
		}
		return []string{l.Rank, string(l.Kind), l.Plan, strconv.Itoa(l.PlanVersion), l.Step, tpl, l.Variant,
			strconv.FormatInt(l.Treated.N, 10), pct(l.Treated.Rate), strconv.FormatInt(l.Holdout.N, 10), pct(l.Holdout.Rate),
			lift, ci, revenue, l.Verdict, needed}
	}
	head := []string{"RANK", "KIND", "PLAN", "VERSION", "STEP", "TEMPLATE", "VARIANT", "SENT", "REPURCHASED", "HELD OUT",
		"REPURCHASED", "LIFT", "95% CI", "REVENUE/CUSTOMER", "VERDICT", "NEEDED/GROUP"}
	// The spreadsheet has room for the funnel and the rank moves too.
	more := []string{"DECIDED", "DELIVERED", "OPENED", "CLICKED", "REPLIED", "UNSUBSCRIBED", "COMPLAINED",
		"SENT: RANK UP", "SENT: RANK DOWN", "HELD OUT: RANK UP", "HELD OUT: RANK DOWN"}
	moreCells := func(l report.Line) []string {
		var out []string
		for _, n := range []int64{l.Decided, l.Delivered, l.Opened, l.Clicked, l.Replied, l.Unsubscribed, l.Complained,
			l.Treated.RankUp, l.Treated.RankDown, l.Holdout.RankUp, l.Holdout.RankDown} {
			out = append(out, strconv.FormatInt(n, 10))
		}
		return out
	}
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		w := csv.NewWriter(os.Stdout)
		_ = w.Write(append(head, more...))
		for _, l := range rep.Rows {
			row := append(cells(l), moreCells(l)...)
			for i := range row {
				row[i] = feedback.SpreadsheetCell(row[i])
			}
			_ = w.Write(row)
		}
		w.Flush()
		return w.Error()
	case "", "table":
		fmt.Printf("report %s: %d rows (%d items read)\n", month, len(rep.Rows), rep.ItemsRead)
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, l := range rep.Rows {
			fmt.Fprintln(tw, strings.Join(cells(l), "\t"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("-format %q: want table, csv, json or html", format)
}

// splitPointsArgs separates `daifuku points` arguments into positionals
// (a negative number among them) and flags with their values.
func splitPointsArgs(args []string) (pos, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if _, err := strconv.ParseInt(a, 10, 64); err == nil || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if !strings.Contains(a, "=") && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return pos, flags
}

// pointsCommand shows a customer's points card, or adjusts it.
func pointsCommand(ctx context.Context, env *local.Env, args []string, reason, format string) error {
	if len(args) > 0 && args[0] == "adjust" {
		if len(args) != 3 {
			return fmt.Errorf("usage: daifuku points adjust CUSTOMER_ID N -reason \"…\"")
		}
		n, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return fmt.Errorf("points adjust: N %q: want a whole number, e.g. 100 or -50", args[2])
		}
		e, err := env.Points.Adjust(ctx, args[1], n, reason)
		if err != nil {
			return err
		}
		fmt.Printf("customer %s: %+d points (%s); balance %d\n", e.CustomerID, e.Points, e.Note, e.Balance)
		return nil
	}
	if len(args) != 1 {
		return fmt.Errorf("usage: daifuku points [-format text|json] CUSTOMER_ID, or daifuku points adjust CUSTOMER_ID N -reason \"…\"")
	}
	c, err := env.Points.Card(ctx, args[0])
	if err != nil {
		return err
	}
	if done, err := jsonOrText(format, c); done {
		return err
	}
	fmt.Printf("customer %s: %d points (dates in %s)\n", c.CustomerID, c.Balance, c.Timezone)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tREASON\tPOINTS\tORDER / NOTE\tBALANCE\tUSABLE UNTIL")
	for _, e := range c.Entries {
		what, until := e.OrderID, "-"
		if what == "" {
			what = e.Note
		}
		if what == "" {
			what = "-"
		}
		if e.Until != "" {
			until = e.Until
		}
		fmt.Fprintf(tw, "%s\t%s\t%+d\t%s\t%d\t%s\n", pointcard.Zoned(e.At, c.Timezone), e.Reason, e.Points, what, e.Balance, until)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range c.Lots {
		fmt.Printf("  %d points usable until %s\n", l.Points, l.Until)
	}
	return nil
}
