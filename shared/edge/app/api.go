package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
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
		Unsubscribe: a.Sender.Unsubscribe, OptOuts: a.Webhooks,
		Webhooks: wh,
		Feedback: &api.FeedbackForm{Links: a.Sender.Links, Answers: a.Webhooks, Script: a.Content.Feedback},
		Voice:    a.Voice, ShopName: a.Content.Shop.Name,
		Timeline: a,
	}), nil
}
