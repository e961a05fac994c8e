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

// Check returns the customer and channel a token names.
func (s Signer) Check(tok string) (customerID string, ch customer.Channel, err error) {
	if len(s.Secret) == 0 {
		return "", "", errors.New("unsubscribe: no secret configured")
	}
	raw, err := token.Open(s.Secret, label, tok)
	if err != nil {
		return "", "", ErrInvalid
	}
	id, c, ok := strings.Cut(string(raw), "\x00")
	if !ok || id == "" || (customer.Channel(c) != customer.Email && customer.Channel(c) != customer.LINE) {
		return "", "", ErrInvalid
	}
	return id, customer.Channel(c), nil
}
