package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/edge/api"
)

// APIHandler builds the HTTP API on the App, with the secrets getenv gives
// (os.Getenv in Lambda; the local values in `make serve`).
func (a *App) APIHandler(getenv func(string) string) (http.Handler, error) {
	wh := &api.Webhooks{
		Env: a.Env, Inbox: a.Inbox, LINESecret: getenv("LINE_CHANNEL_SECRET"), InboundToken: getenv("INBOUND_PARSE_TOKEN"),
	}
	if key := getenv("SENDGRID_WEBHOOK_PUBLIC_KEY"); key != "" {
		v, err := sendgrid.NewEventVerifier(key)
		if err != nil {
			return nil, err
		}
		if s := getenv("SENDGRID_WEBHOOK_MAX_AGE"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("SENDGRID_WEBHOOK_MAX_AGE %q: %w", s, err)
			}
			v.Window = d
			if d == 0 {
				v.Window = -1 // replay check off (local replays of recorded events)
			}
		}
		wh.SendGrid = v
	}
	return api.New(a.Intake, api.Options{
		Env:         a.Env,
		OrdersToken: getenv("ORDERS_API_TOKEN"),
		Unsubscribe: a.Sender.Unsubscribe, OptOuts: a.Webhooks, Preferences: a.Webhooks,
		Webhooks: wh,
		Feedback: &api.FeedbackForm{Links: a.Sender.Links, Answers: a.Webhooks, Script: a.Content.Feedback},
		RSVP:     &api.RSVPPage{Links: a.Events.Links, Answers: a.Webhooks, Events: a.Events},
		Voice:    a.Voice, ShopName: a.Content.Shop.Name,
		Timeline: a,
		Studio:   a.studio(getenv),
	}), nil
}

// studio builds the marketers' studio: locally behind STUDIO_DEV_TOKEN, in
// AWS behind Cognito (STUDIO_AUTH=cognito).
func (a *App) studio(getenv func(string) string) *api.Studio {
	return &api.Studio{
		Desk: a.Desk, Edits: a.Store, Customers: a.Store,
		Recipients: api.ParseRecipients(getenv("STUDIO_TEST_RECIPIENTS")),
		DevToken:   getenv("STUDIO_DEV_TOKEN"), Cognito: getenv("STUDIO_AUTH") == "cognito", Login: getenv("STUDIO_LOGIN_URL"),
		Send: a.sendTest,
		Report: func(ctx context.Context, w io.Writer, month string) error {
			_, err := a.WriteReportPage(ctx, w, month)
			return err
		},
	}
}

// sendTest sends a studio test through the real clients: marked as a test
// (SendGrid category "test"), under no message key, recorded nowhere.
func (a *App) sendTest(ctx context.Context, out *render.Rendered, shop render.Shop, to api.TestRecipient) error {
	switch {
	case to.Channel == customer.Email && out.Email != nil && a.Sender.Mail != nil:
		_, err := a.Sender.Mail.Send(ctx, delivery.Envelope{FromEmail: shop.FromEmail, FromName: shop.FromName, ToEmail: to.Address,
			Categories: []string{"test"}, CustomArgs: map[string]string{"test": "studio"}}, out.Email)
		return err
	case to.Channel == customer.LINE && out.LINE != nil && a.Sender.LINE != nil:
		_, err := a.Sender.LINE.Push(ctx, to.Address, out.LINE, uuid.NewString())
		return err
	}
	return fmt.Errorf("nothing to send on %s (is the provider configured?)", to.Channel)
}
