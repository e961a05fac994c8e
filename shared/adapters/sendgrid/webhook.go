package sendgrid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"

	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// Headers of the signed event webhook.
const (
	SignatureHeader = eventwebhook.VerificationHTTPHeader
	TimestampHeader = eventwebhook.TimestampHTTPHeader
)

// ErrInvalidSignature means the signature headers are missing or do not
// verify with the configured public key.
var ErrInvalidSignature = errors.New("sendgrid event webhook: invalid signature")

// ErrStale means a correctly signed request is too old (or from the future):
// a replay.
var ErrStale = errors.New("sendgrid event webhook: timestamp outside the accepted window")

// EventVerifier checks signed event webhook requests.
type EventVerifier struct {
	key *ecdsa.PublicKey
	// Window is how far the signed timestamp may be from now (0: 10 minutes;
	// negative: not checked, for replaying recorded requests locally).
	Window time.Duration
}

// NewEventVerifier reads the verification key SendGrid shows when the signed
// event webhook is switched on (base64 DER).
func NewEventVerifier(publicKeyBase64 string) (*EventVerifier, error) {
	if publicKeyBase64 == "" {
		return nil, errors.New("sendgrid event webhook: no public key configured")
	}
	key, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(publicKeyBase64)
	if err != nil {
		return nil, fmt.Errorf("sendgrid event webhook public key: %w", err)
	}
	return &EventVerifier{key: key}, nil
}

// Verify checks the signature over timestamp + the raw body, then the timestamp's age.
func (v *EventVerifier) Verify(body []byte, signature, timestamp string, now time.Time) error {
	if signature == "" || timestamp == "" {
		return ErrInvalidSignature
	}
	ok, err := eventwebhook.VerifySignature(v.key, body, signature, timestamp)
	if err != nil || !ok {
		return ErrInvalidSignature
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrInvalidSignature
	}
	window := v.Window
	if window == 0 {
		window = 10 * time.Minute
	}
	if d := now.Sub(time.Unix(secs, 0)); window > 0 && (d > window || d < -window) {
		return ErrStale
	}
	return nil
}

// SplitEvents reads an event webhook body (a JSON array of event objects)
// into each event's raw JSON.
func SplitEvents(body []byte) ([]json.RawMessage, error) {
	var evs []json.RawMessage
	if err := json.Unmarshal(body, &evs); err != nil {
		return nil, errors.New("sendgrid events: the body is not a JSON array")
	}
	for i, e := range evs {
		if !bytes.HasPrefix(bytes.TrimSpace(e), []byte("{")) {
			return nil, fmt.Errorf("sendgrid events: item %d is not an object", i)
		}
	}
	return evs, nil
}

// DecodeEvent reads one event. custom_args arrive as top-level fields.
func DecodeEvent(raw []byte) (webhook.MailEvent, error) {
	var e struct {
		ID         string          `json:"sg_event_id"`
		Type       string          `json:"event"`
		Email      string          `json:"email"`
		Timestamp  json.Number     `json:"timestamp"`
		MessageKey json.RawMessage `json:"message_key"`
		Type2      string          `json:"type"`
		Test       json.RawMessage `json:"test"`
		Group      json.Number     `json:"asm_group_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return webhook.MailEvent{}, errors.New("sendgrid event: not an event object")
	}
	ev := webhook.MailEvent{ID: e.ID, Type: e.Type, Email: strings.ToLower(strings.TrimSpace(e.Email)), BounceType: e.Type2,
		Test: len(e.Test) > 0}
	if ev.ID == "" {
		sum := sha256.Sum256(raw)
		ev.ID = "sha256-" + hex.EncodeToString(sum[:16])
	}
	if secs, err := e.Timestamp.Int64(); err == nil {
		ev.At = time.Unix(secs, 0).UTC()
	}
	if g, err := e.Group.Int64(); err == nil && g > 0 && g <= math.MaxInt32 {
		ev.Group = int(g)
	}
	// Tolerate a key sent as a number or other JSON: only a string is ours.
	var key string
	if json.Unmarshal(e.MessageKey, &key) == nil {
		ev.MessageKey = key
	}
	return ev, nil
}
