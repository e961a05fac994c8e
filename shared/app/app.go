// Package app wires daifuku together once, for the Lambda functions, the CLI
// and the tests alike: store, queue, content, provider clients, flows.
package app

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daifuku/daifuku/shared/campaign"
	"github.com/daifuku/daifuku/shared/channel/email"
	"github.com/daifuku/daifuku/shared/channel/line"
	"github.com/daifuku/daifuku/shared/config"
	"github.com/daifuku/daifuku/shared/customer"
	"github.com/daifuku/daifuku/shared/daily"
	"github.com/daifuku/daifuku/shared/delivery"
	"github.com/daifuku/daifuku/shared/feedback"
	"github.com/daifuku/daifuku/shared/inbox"
	"github.com/daifuku/daifuku/shared/intake"
	"github.com/daifuku/daifuku/shared/sender"
	"github.com/daifuku/daifuku/shared/store"
	"github.com/daifuku/daifuku/shared/unsubscribe"
	"github.com/daifuku/daifuku/shared/voice"
)

// Deps are the parts an App is built from.
type Deps struct {
	DB     *dynamodb.Client
	Tables store.Tables
	Queue  intake.Queue
	// Batches carries stored webhook batches to the webhook worker.
	Batches inbox.Queue
	Content *config.Content
	LINE    *line.Client  // nil: LINE is not configured
	Mail    *email.Client // nil: SendGrid is not configured
	Now     func() time.Time
	Log     *slog.Logger
	// BaseURL is where the API answers (unsubscribe links); UnsubscribeSecret signs them.
	BaseURL           string
	UnsubscribeSecret string
}

// App holds the flows.
type App struct {
	Store     *store.Store
	Intake    *intake.Intake
	Sender    *sender.Sender
	Daily     *daily.Runner
	Campaigns *campaign.Runner
	// Inbox takes webhook events in; Webhooks applies them.
	Inbox    *inbox.Acceptor
	Webhooks *inbox.Processor
	Voice    *voice.Voice
	Content  *config.Content
	Now      func() time.Time
	Log      *slog.Logger
}

// New builds the flows from their parts.
func New(d Deps) *App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	st := store.New(d.DB, d.Tables)
	s := &sender.Sender{
		Ledger: st, Templates: d.Content.Templates, Rules: d.Content.Rules, Shop: d.Content.Shop,
		Policy: d.Content.Policy, Now: d.Now, Log: d.Log, Limits: map[customer.Channel]*delivery.Limiter{},
		Unsubscribe: unsubscribe.Signer{Secret: []byte(d.UnsubscribeSecret)}, BaseURL: d.BaseURL,
		// The same secret signs feedback links, under another label.
		Feedback: d.Content.Feedback, Links: feedback.LinkSigner{Secret: []byte(d.UnsubscribeSecret)},
	}
	for ch, rate := range d.Content.Policy.Rates {
		s.Limits[ch] = &delivery.Limiter{Rate: rate}
	}
	// Assign only real clients: a nil pointer in an interface is not a nil interface.
	if d.LINE != nil {
		s.LINE = d.LINE
	}
	if d.Mail != nil {
		s.Mail = d.Mail
	}
	cr := &campaign.Runner{Ledger: st, Queue: d.Queue, Templates: d.Content.Templates, Rules: d.Content.Rules,
		Policy: d.Content.Policy, Shop: d.Content.Shop, Defined: d.Content.Campaigns, Limit: s.Limits[customer.LINE],
		Log: d.Log, HasLINE: d.LINE != nil, HasEmail: d.Mail != nil}
	if d.LINE != nil {
		cr.LINE = d.LINE
	}
	wp := &inbox.Processor{Ledger: st, Rules: d.Content.Rules, Plans: d.Content.Plans, Script: d.Content.Feedback,
		Now: d.Now, Log: d.Log}
	if d.LINE != nil {
		wp.LINE = d.LINE
	}
	if d.Mail != nil {
		wp.Forward = (&inbox.Forwarder{Mail: d.Mail, Shop: d.Content.Shop}).Forward
	}
	dr := &daily.Runner{Ledger: st, Queue: d.Queue, Rules: d.Content.Rules, Plans: d.Content.Plans,
		Policy: d.Content.Policy, Log: d.Log}
	wp.Welcome = dr.VisitNow
	return &App{
		Store: st,
		Intake: &intake.Intake{Ledger: st, Queue: d.Queue, Rules: d.Content.Rules, Plans: d.Content.Plans,
			Now: d.Now, Log: d.Log},
		Sender:    s,
		Daily:     dr,
		Campaigns: cr,
		Inbox:     &inbox.Acceptor{Store: st, Queue: d.Batches, Now: d.Now},
		Webhooks:  wp,
		Voice:     &voice.Voice{Ledger: st, Rules: d.Content.Rules, Shop: d.Content.Shop.Name},
		Content:   d.Content,
		Now:       d.Now,
		Log:       d.Log,
	}
}
