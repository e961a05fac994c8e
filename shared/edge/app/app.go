// Package app wires daifuku together once, for the Lambda functions, the CLI
// and the tests alike: store, queue, content, provider clients, flows.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
	"github.com/daifuku/daifuku/shared/flows/daily"
	"github.com/daifuku/daifuku/shared/flows/events"
	"github.com/daifuku/daifuku/shared/flows/flow"
	"github.com/daifuku/daifuku/shared/flows/monthly"
	"github.com/daifuku/daifuku/shared/flows/orders"
	"github.com/daifuku/daifuku/shared/flows/pointcard"
	"github.com/daifuku/daifuku/shared/flows/publishing"
	"github.com/daifuku/daifuku/shared/flows/reconcile"
	"github.com/daifuku/daifuku/shared/flows/referrals"
	"github.com/daifuku/daifuku/shared/flows/sending"
	"github.com/daifuku/daifuku/shared/flows/timeline"
	"github.com/daifuku/daifuku/shared/flows/voice"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// Deps are the parts an App is built from.
type Deps struct {
	DB     *dynamodb.Client
	Tables dynamo.Tables
	Queue  orders.Queue
	// Batches carries stored webhook batches to the webhook worker.
	Batches webhooks.Queue
	Content *content.Content
	// ContentRevision is the published revision Content is (0: the
	// embedded templates); every message records it.
	ContentRevision int
	ContentFiles    map[string]int   // the revision's file versions
	LINE            *line.Client     // nil: LINE is not configured
	Mail            *sendgrid.Client // nil: SendGrid is not configured
	// Clock tells every flow the time; nil: the wall clock.
	Clock func() time.Time
	Log   *slog.Logger
	// BaseURL is where the API answers (unsubscribe links); UnsubscribeSecret signs them.
	BaseURL           string
	UnsubscribeSecret string
	// EmailEvents says SendGrid's event webhook is set up: ambiguous emails
	// are settled by its processed events, or sent again without one.
	EmailEvents bool
	// DeadLetters are the dead-letter queues the reconciler watches, by name.
	DeadLetters map[string]reconcile.DeadLetters
	// Holder names this process in campaign leases.
	Holder string
	// Senders is how many sender instances may run at once, each apart
	// (SQS's maximum concurrency): each keeps to its share of every
	// provider's rate, and campaigns' multicasts to theirs. 0: one
	// process sends everything, through one limiter per provider.
	Senders int
	// Shards carries campaigns' shards to the fan-out workers; nil: the
	// run that starts a campaign decides its shards itself.
	Shards campaigns.ShardQueue
	// FanOuts is how many fan-out instances may run at once (SQS's maximum
	// concurrency): they share the multicast part of LINE's rate. 0: one.
	FanOuts int
	// Reports keeps the monthly reports (the S3 bucket; locally a folder);
	// nil: the monthly report task refuses to run.
	Reports monthly.Files
	// Owner is where the monthly summary is emailed; "": it is not.
	Owner string
	// StudioURL is where the studio answers, for the summary's link.
	StudioURL string
}

// App holds the flows.
type App struct {
	flow.Env
	Store     *dynamo.Store
	Intake    *orders.Intake
	Sender    *sending.Sender
	Daily     *daily.Runner
	Campaigns *campaigns.Runner
	// Inbox takes webhook events in; Webhooks applies them.
	Inbox      *webhooks.Acceptor
	Webhooks   *webhooks.Processor
	Voice      *voice.Voice
	Reconciler *reconcile.Reconciler
	// Desk saves and publishes the content (the studio, content import).
	Desk    *publishing.Desk
	Content *content.Content
	// ContentRevision is the published revision of Content (0: embedded).
	ContentRevision int
	// Monthly stores the month's report on the 1st and tells the owner.
	Monthly *monthly.Reporter
	// Events invites, reminds and thanks (hourly), and takes RSVPs.
	Events *events.Runner
	// Referrals runs the referral programme (口コミ).
	Referrals *referrals.Program
	// Points keeps the points cards: history, staff adjustments, credits.
	Points *pointcard.Book
}

// New builds the flows from their parts. Every flow gets the same clock and logger.
func New(d Deps) *App {
	env := flow.Env{Clock: d.Clock, Log: d.Log}
	if env.Clock == nil {
		env.Clock = time.Now
	}
	if env.Log == nil {
		env.Log = slog.Default()
	}
	st := dynamo.New(d.DB, d.Tables)
	pauses := &flow.Pauses{Store: st} // one per process: a pause met by one flow holds for the others at once
	s := &sending.Sender{
		Env: env, Ledger: st, Pauses: pauses, Cancels: &flow.Cancels{Store: st}, Templates: d.Content.Templates, Rules: d.Content.Rules, Shop: d.Content.Shop,
		Policy: d.Content.Policy, Limits: map[customer.Channel]*delivery.Limiter{},
		Unsubscribe: unsubscribe.Signer{Secret: []byte(d.UnsubscribeSecret)}, BaseURL: d.BaseURL, EmailEvents: d.EmailEvents,
		// The same secret signs feedback links, under another label.
		Feedback: d.Content.Feedback, Links: feedback.LinkSigner{Secret: []byte(d.UnsubscribeSecret)},
		ContentRevision: d.ContentRevision, ContentFiles: d.ContentFiles,
	}
	multicast := s.Limits
	if d.Senders > 0 {
		multicast = map[customer.Channel]*delivery.Limiter{}
	}
	for ch, rate := range d.Content.Policy.Rates {
		if d.Senders == 0 {
			s.Limits[ch] = delivery.NewLimiter(rate)
			continue
		}
		each, m := delivery.Split(rate, d.Senders, d.FanOuts)
		s.Limits[ch], multicast[ch] = delivery.NewLimiter(each), delivery.NewLimiter(m)
	}
	// Assign only real clients: a nil pointer in an interface is not a nil interface.
	if d.LINE != nil {
		s.LINE = d.LINE
	}
	if d.Mail != nil {
		s.Mail = d.Mail
	}
	cr := &campaigns.Runner{Env: env, Ledger: st, Queue: d.Queue, Pauses: pauses, Templates: d.Content.Templates, Rules: d.Content.Rules,
		Policy: d.Content.Policy, Shop: d.Content.Shop, Defined: d.Content.Campaigns, Limit: multicast[customer.LINE],
		HasLINE: d.LINE != nil, HasEmail: d.Mail != nil, Holder: d.Holder, ContentRevision: d.ContentRevision, ContentFiles: d.ContentFiles,
		Shards: d.Shards}
	if d.LINE != nil {
		cr.LINE, cr.Quotas = d.LINE, d.LINE
	}
	wp := &webhooks.Processor{Env: env, Ledger: st, Rules: d.Content.Rules, Plans: d.Content.Plans, Script: d.Content.Feedback,
		Topics:     d.Content.Policy.Topics,
		DecodeLINE: line.DecodeEvent, DecodeMail: sendgrid.DecodeEvent}
	if d.LINE != nil {
		wp.LINE = d.LINE
	}
	if d.Mail != nil {
		wp.Forward = (&webhooks.Forwarder{Mail: d.Mail, Shop: d.Content.Shop}).Forward
		wp.Suppressions = d.Mail
	}
	// The same secret signs event RSVP links, under another label.
	ev := &events.Runner{Env: env, Ledger: st, Queue: d.Queue, Templates: d.Content.Templates, Policy: d.Content.Policy,
		Defined: d.Content.Events, Links: event.LinkSigner{Secret: []byte(d.UnsubscribeSecret)}, BaseURL: d.BaseURL,
		ContentFiles: d.ContentFiles}
	s.Events, wp.Events = ev, ev
	vo := &voice.Voice{Env: env, Ledger: st, Rules: d.Content.Rules, Shop: d.Content.Shop.Name}
	s.Voices, cr.Voices = vo, vo
	dr := &daily.Runner{Env: env, Ledger: st, Queue: d.Queue, Rules: d.Content.Rules, Plans: d.Content.Plans,
		Policy: d.Content.Policy, ContentFiles: d.ContentFiles, Points: d.Content.Points}
	wp.Welcome = dr.VisitNow
	// Referrals (口コミ): codes for every customer, credits after orders and LINE messages.
	refs := &referrals.Program{Env: env, Ledger: st, Queue: d.Queue, Rules: d.Content.Rules, Plans: d.Content.Plans,
		Policy: d.Content.Policy, Config: d.Content.Referrals, ShopURL: d.Content.Shop.URL}
	s.Referrals, wp.Referrals = refs, refs
	book := &pointcard.Book{Env: env, Ledger: st, Config: d.Content.Points}
	if d.Content.Points != nil {
		refs.Points = book // referrals.yaml's points go on the points card
	}
	a := &App{
		Env:   env,
		Store: st,
		Intake: &orders.Intake{Env: env, Ledger: st, Queue: d.Queue, Rules: d.Content.Rules, Plans: d.Content.Plans,
			Attribution: d.Content.Policy.Attribution, Referrals: refs, Points: d.Content.Points},
		Sender:    s,
		Daily:     dr,
		Campaigns: cr,
		Inbox:     &webhooks.Acceptor{Env: env, Store: st, Queue: d.Batches},
		Webhooks:  wp,
		Voice:     vo,
		Reconciler: &reconcile.Reconciler{Env: env, Ledger: st, Queue: d.Queue, EmailEvents: d.EmailEvents,
			DeadLetters: d.DeadLetters},
		Desk:            &publishing.Desk{Env: env, Ledger: st, Checks: content.Checks{}},
		Content:         d.Content,
		ContentRevision: d.ContentRevision,
		Events:          ev,
		Referrals:       refs,
		Points:          book,
	}
	a.Monthly = &monthly.Reporter{Env: env, Pages: a, Files: d.Reports, Claims: st, Owner: d.Owner, Shop: d.Content.Shop,
		StudioURL: d.StudioURL, Label: func(r string) string { return d.Content.Rules.Label(rank.Parse(r)) }}
	if d.Mail != nil {
		a.Monthly.Mail = d.Mail
	}
	return a
}

// Tasks answers the scheduler's events (the daily run, the hourly release,
// the monthly report).
func (a *App) Tasks() *handler.Tasks {
	return &handler.Tasks{Env: a.Env, Runner: a.Daily, Releaser: a.Store, Campaigns: a.Campaigns, Reconciler: a.Reconciler,
		Monthly: a.Monthly, Events: a.Events}
}

// Timeline gathers one customer's history.
func (a *App) Timeline(ctx context.Context, customerID string) (*timeline.Timeline, error) {
	return timeline.Of(ctx, a.Store, customerID)
}
