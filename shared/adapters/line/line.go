// Package line sends messages through the LINE Messaging API with the official
// SDK (line-bot-sdk-go/v8).
package line

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
)

// DefaultEndpoint is LINE's API host.
const DefaultEndpoint = "https://api.line.me"

// Client pushes messages. It is safe for concurrent use: the SDK client keeps
// the request context in a field, so each call builds its own (it is cheap).
type Client struct {
	token    string
	endpoint *url.URL
	http     *http.Client
}

// New returns a client for a channel access token. endpoint "" means LINE itself.
func New(token, endpoint string, hc *http.Client) (*Client, error) {
	if token == "" {
		return nil, errors.New("line: no channel access token")
	}
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.ParseRequestURI(endpoint)
	if err != nil {
		return nil, fmt.Errorf("line: endpoint %q: %w", endpoint, err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second} // the SDK's default client has none
	}
	return &Client{token: token, endpoint: u, http: hc}, nil
}

func (c *Client) api(ctx context.Context) (*messaging_api.MessagingApiAPI, error) {
	api, err := messaging_api.NewMessagingApiAPI(c.token,
		messaging_api.WithEndpoint(c.endpoint.String()), messaging_api.WithHTTPClient(c.http))
	if err != nil {
		return nil, err
	}
	return api.WithContext(ctx), nil
}

// Push sends one rendered message to one user. retryKey (a UUID) makes LINE
// deliver it once however often the request is repeated within 24 hours.
func (c *Client) Push(ctx context.Context, to string, msg *render.LINE, retryKey string) (delivery.Receipt, error) {
	m, err := Message(msg)
	if err != nil {
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Reason: err.Error()}
	}
	api, err := c.api(ctx)
	if err != nil {
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Reason: err.Error()}
	}
	res, body, err := api.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{
		To: to, Messages: []messaging_api.MessageInterface{m},
	}, retryKey)
	if res != nil && res.Body != nil {
		defer res.Body.Close()
	}
	var id string
	if body != nil && len(body.SentMessages) > 0 {
		id = body.SentMessages[0].Id
	}
	return answer(res, err, &id)
}

// answer reads LINE's answer to a send: accepted, already accepted (409), or a Failure.
func answer(res *http.Response, err error, sentID *string) (delivery.Receipt, error) {
	switch {
	case res == nil && err != nil:
		// No answer: the request may or may not have reached LINE; the retry key makes a retry safe.
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Retryable: true, Reason: "no response: " + err.Error()}
	case res.StatusCode == http.StatusConflict:
		// An earlier request with this retry key was accepted: the message was sent.
		return delivery.Receipt{ProviderID: res.Header.Get("X-Line-Accepted-Request-Id"), Repeated: true}, nil
	case res.StatusCode/100 == 2:
		id := res.Header.Get("X-Line-Request-Id")
		if sentID != nil && *sentID != "" {
			id = *sentID
		}
		return delivery.Receipt{ProviderID: id}, nil
	}
	return delivery.Receipt{}, classify(res)
}

// classify turns a LINE error answer into a Failure.
func classify(res *http.Response) *delivery.Failure {
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(msg, &e)
	f := &delivery.Failure{Provider: "line", Status: res.StatusCode, Reason: e.Message}
	switch {
	case res.StatusCode == http.StatusTooManyRequests && strings.Contains(strings.ToLower(e.Message), "monthly limit"):
		// The channel's monthly message quota is used up: retrying cannot help this month.
		f.Reason, f.QuotaUsedUp = "monthly message quota used up: "+e.Message, true
	case res.StatusCode == http.StatusTooManyRequests:
		f.Retryable = true
		f.RetryAfter = retryAfter(res.Header.Get("Retry-After"))
	case res.StatusCode >= 500:
		f.Retryable = true
	}
	if f.Reason == "" {
		f.Reason = http.StatusText(res.StatusCode)
	}
	return f
}

func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

// MaxMulticast is the most user ids one multicast request may carry.
const MaxMulticast = 500

// Multicast sends one rendered message to up to 500 users in one request.
// retryKey guards the whole request as it does a push.
func (c *Client) Multicast(ctx context.Context, to []string, msg *render.LINE, retryKey string) (delivery.Receipt, error) {
	if len(to) == 0 || len(to) > MaxMulticast {
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Reason: fmt.Sprintf("multicast to %d users: want 1 to %d", len(to), MaxMulticast)}
	}
	m, err := Message(msg)
	if err != nil {
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Reason: err.Error()}
	}
	api, err := c.api(ctx)
	if err != nil {
		return delivery.Receipt{}, &delivery.Failure{Provider: "line", Reason: err.Error()}
	}
	res, _, err := api.MulticastWithHttpInfo(&messaging_api.MulticastRequest{To: to, Messages: []messaging_api.MessageInterface{m}}, retryKey)
	if res != nil && res.Body != nil {
		defer res.Body.Close()
	}
	return answer(res, err, nil)
}

// Quota reads the channel's message quota for this month and what it has
// used (GET /v2/bot/message/quota and /v2/bot/message/quota/consumption).
func (c *Client) Quota(ctx context.Context) (delivery.Quota, error) {
	api, err := c.api(ctx)
	if err != nil {
		return delivery.Quota{}, err
	}
	q, err := api.GetMessageQuota()
	if err != nil {
		return delivery.Quota{}, fmt.Errorf("line: read the message quota: %w", err)
	}
	if q.Type != messaging_api.QuotaType_LIMITED {
		return delivery.Quota{}, nil
	}
	used, err := api.GetMessageQuotaConsumption()
	if err != nil {
		return delivery.Quota{}, fmt.Errorf("line: read the quota used: %w", err)
	}
	return delivery.Quota{Limited: true, Limit: q.Value, Used: used.TotalUsage}, nil
}
