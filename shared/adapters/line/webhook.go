package line

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	linewebhook "github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// ErrInvalidSignature means X-Line-Signature is missing or was not made with
// the channel secret.
var ErrInvalidSignature = linewebhook.ErrInvalidSignature

// ParseWebhook verifies a webhook request body against its X-Line-Signature
// and parses it with the SDK, so only bodies LINE's own types accept are
// taken in. It returns each event's raw JSON, as stored for processing.
func ParseWebhook(channelSecret string, body []byte, signature string) ([]json.RawMessage, error) {
	if channelSecret == "" {
		return nil, errors.New("line webhook: no channel secret configured")
	}
	if !linewebhook.ValidateSignature(channelSecret, signature, body) {
		return nil, ErrInvalidSignature
	}
	var cb linewebhook.CallbackRequest
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, &MalformedError{Err: err}
	}
	var raw struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &MalformedError{Err: err}
	}
	return raw.Events, nil
}

// MalformedError is a signed body that is not a webhook request.
type MalformedError struct{ Err error }

// Error never repeats the body: it may hold a customer's message.
func (e *MalformedError) Error() string { return "line webhook: malformed body: " + summary(e.Err) }

// summary keeps a decoding error's kind and position, not the text it quotes.
func summary(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s has the wrong type", typ.Field)
	}
	return "not a webhook request"
}

// envelope holds the fields every event has, whatever its type.
type envelope struct {
	Type            string `json:"type"`
	WebhookEventID  string `json:"webhookEventId"`
	Timestamp       int64  `json:"timestamp"`
	DeliveryContext struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Source struct {
		Type   string `json:"type"`
		UserID string `json:"userId"`
	} `json:"source"`
}

// DecodeEvent reads one stored event as the SDK's webhook package types it.
func DecodeEvent(raw []byte) (webhook.LINEEvent, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return webhook.LINEEvent{}, fmt.Errorf("line event: %s", summary(err))
	}
	ev := webhook.LINEEvent{ID: env.WebhookEventID, At: time.UnixMilli(env.Timestamp).UTC(), Redelivery: env.DeliveryContext.IsRedelivery}
	if ev.ID == "" {
		sum := sha256.Sum256(raw)
		ev.ID = "sha256-" + hex.EncodeToString(sum[:16])
	}
	if env.Source.Type == "user" {
		ev.UserID = env.Source.UserID
	}
	parsed, err := linewebhook.UnmarshalEvent(raw)
	if err != nil {
		return webhook.LINEEvent{}, fmt.Errorf("line event %s: %s", ev.ID, summary(err))
	}
	switch e := parsed.(type) {
	case linewebhook.FollowEvent:
		ev.Type, ev.ReplyToken = "follow", e.ReplyToken
		ev.Unblocked = e.Follow != nil && e.Follow.IsUnblocked
	case linewebhook.UnfollowEvent:
		ev.Type = "unfollow"
	case linewebhook.MessageEvent:
		ev.Type, ev.ReplyToken = "message", e.ReplyToken
		switch m := e.Message.(type) {
		case linewebhook.TextMessageContent:
			ev.MessageType, ev.Text = "text", m.Text
		case *linewebhook.TextMessageContent:
			ev.MessageType, ev.Text = "text", m.Text
		default:
			if m != nil {
				ev.MessageType = m.GetType()
			}
		}
	case linewebhook.PostbackEvent:
		ev.Type, ev.ReplyToken = "postback", e.ReplyToken
		if e.Postback != nil {
			ev.PostbackData = e.Postback.Data
		}
	default:
		ev.Type = env.Type // accepted and ignored
	}
	return ev, nil
}

// Reply answers an event through its reply token. Replies are free and go
// only to the one customer who just wrote; LINE takes a token once, so a
// failed reply is not retried.
func (c *Client) Reply(ctx context.Context, replyToken string, msgs ...*render.LINE) error {
	req := &messaging_api.ReplyMessageRequest{ReplyToken: replyToken}
	for _, m := range msgs {
		sdk, err := Message(m)
		if err != nil {
			return err
		}
		req.Messages = append(req.Messages, sdk)
	}
	api, err := c.api(ctx)
	if err != nil {
		return err
	}
	res, _, err := api.ReplyMessageWithHttpInfo(req)
	if res != nil && res.Body != nil {
		defer res.Body.Close()
	}
	_, err = answer(res, err, nil)
	return err
}
