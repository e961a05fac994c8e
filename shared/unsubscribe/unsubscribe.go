// Package unsubscribe makes and checks the signed tokens of one-click
// unsubscribe links (RFC 8058): the link names the customer and the channel,
// and the signature proves daifuku made it, so no login is needed.
package unsubscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/daifuku/daifuku/shared/customer"
)

// ErrInvalid means a token was not made with this secret, or is malformed.
var ErrInvalid = errors.New("invalid unsubscribe token")

// Signer makes and checks tokens with one secret.
type Signer struct{ Secret []byte }

var enc = base64.RawURLEncoding

// Token is the token of a customer's opt-out from a channel.
func (s Signer) Token(customerID string, ch customer.Channel) string {
	payload := enc.EncodeToString([]byte(customerID + "\x00" + string(ch)))
	return payload + "." + enc.EncodeToString(s.mac(payload))
}

// Check returns the customer and channel a token names.
func (s Signer) Check(token string) (customerID string, ch customer.Channel, err error) {
	if len(s.Secret) == 0 {
		return "", "", errors.New("unsubscribe: no secret configured")
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrInvalid
	}
	got, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return "", "", ErrInvalid
	}
	raw, err := enc.DecodeString(payload)
	if err != nil {
		return "", "", ErrInvalid
	}
	id, c, ok := strings.Cut(string(raw), "\x00")
	if !ok || id == "" || (customer.Channel(c) != customer.Email && customer.Channel(c) != customer.LINE) {
		return "", "", ErrInvalid
	}
	return id, customer.Channel(c), nil
}

func (s Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("daifuku-unsubscribe-v1\x00" + payload))
	return m.Sum(nil)
}
