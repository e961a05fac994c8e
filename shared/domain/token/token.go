// Package token makes and opens the signed tokens of daifuku's links
// (unsubscribe, feedback): the payload travels in the link, the HMAC proves
// daifuku made it, and a label keeps one kind of link from passing as another.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrInvalid means a token was not made with this secret and label, or is malformed.
var ErrInvalid = errors.New("invalid token")

var enc = base64.RawURLEncoding

// Sign returns "<payload>.<signature>", both base64url.
func Sign(secret []byte, label string, payload []byte) string {
	p := enc.EncodeToString(payload)
	return p + "." + enc.EncodeToString(mac(secret, label, p))
}

// Open checks a token and returns its payload. Only the canonical encoding
// is accepted (base64 decoding would skip line breaks).
func Open(secret []byte, label, tok string) ([]byte, error) {
	if len(secret) == 0 {
		return nil, errors.New(label + ": no secret configured")
	}
	p, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, ErrInvalid
	}
	got, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, label, p)) {
		return nil, ErrInvalid
	}
	payload, err := enc.DecodeString(p)
	if err != nil || Sign(secret, label, payload) != tok {
		return nil, ErrInvalid
	}
	return payload, nil
}

func mac(secret []byte, label, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label + "\x00" + payload))
	return m.Sum(nil)
}
