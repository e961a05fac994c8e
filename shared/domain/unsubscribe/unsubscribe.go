// Package unsubscribe makes and checks the signed tokens of one-click
// unsubscribe links (RFC 8058): the link names the customer and the channel,
// and the signature proves daifuku made it, so no login is needed.
package unsubscribe

import (
	"errors"
	"strings"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/token"
)

// ErrInvalid means a token was not made with this secret, or is malformed.
var ErrInvalid = errors.New("invalid unsubscribe token")

// Signer makes and checks tokens with one secret.
type Signer struct{ Secret []byte }

// label keeps unsubscribe tokens apart from daifuku's other signed links.
const label = "daifuku-unsubscribe-v1"

// Token is the token of a customer's opt-out from a channel.
func (s Signer) Token(customerID string, ch customer.Channel) string {
	return token.Sign(s.Secret, label, []byte(customerID+"\x00"+string(ch)))
}

// TopicToken is the token of a customer's opt-out from one topic (配信設定)
// on a channel: the one-click link of an email's List-Unsubscribe header,
// which stops only what that email was about.
func (s Signer) TopicToken(customerID string, ch customer.Channel, topic string) string {
	return token.Sign(s.Secret, label, []byte(customerID+"\x00"+string(ch)+"\x00"+topic))
}

// Link is what an unsubscribe link names: a customer, a channel, and the
// topic when it stops only one.
type Link struct {
	CustomerID string
	Channel    customer.Channel
	Topic      string // "": every message on the channel
}

// Check returns the customer and channel a token names.
func (s Signer) Check(tok string) (customerID string, ch customer.Channel, err error) {
	l, err := s.Open(tok)
	return l.CustomerID, l.Channel, err
}

// Open returns what a token names.
func (s Signer) Open(tok string) (Link, error) {
	if len(s.Secret) == 0 {
		return Link{}, errors.New("unsubscribe: no secret configured")
	}
	raw, err := token.Open(s.Secret, label, tok)
	if err != nil {
		return Link{}, ErrInvalid
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" ||
		(customer.Channel(parts[1]) != customer.Email && customer.Channel(parts[1]) != customer.LINE) {
		return Link{}, ErrInvalid
	}
	l := Link{CustomerID: parts[0], Channel: customer.Channel(parts[1])}
	if len(parts) == 3 {
		if parts[2] == "" {
			return Link{}, ErrInvalid
		}
		l.Topic = parts[2]
	}
	return l, nil
}

// preferencesLabel keeps preference-page tokens apart from unsubscribe links.
const preferencesLabel = "daifuku-preferences-v1"

// PreferencesToken is the token of a customer's preference page (配信設定).
func (s Signer) PreferencesToken(customerID string) string {
	return token.Sign(s.Secret, preferencesLabel, []byte(customerID))
}

// CheckPreferences returns the customer a preference-page token names.
func (s Signer) CheckPreferences(tok string) (string, error) {
	if len(s.Secret) == 0 {
		return "", errors.New("preferences: no secret configured")
	}
	raw, err := token.Open(s.Secret, preferencesLabel, tok)
	if err != nil || len(raw) == 0 || strings.ContainsRune(string(raw), 0) {
		return "", ErrInvalid
	}
	return string(raw), nil
}
