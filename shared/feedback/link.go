package feedback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/daifuku/daifuku/shared/message"
)

// ErrInvalidLink means a feedback link was not made with this secret.
var ErrInvalidLink = errors.New("invalid feedback link")

// LinkSigner makes and checks the tokens of the rating links in feedback
// emails: the token names the message, the signature proves daifuku made it,
// so the customer answers without logging in.
type LinkSigner struct{ Secret []byte }

var enc = base64.RawURLEncoding

// Token is the token of the feedback links of a message.
func (s LinkSigner) Token(key message.Key) string {
	payload := enc.EncodeToString([]byte(key))
	return payload + "." + enc.EncodeToString(s.mac(payload))
}

// Check returns the message a token names.
func (s LinkSigner) Check(token string) (message.Key, error) {
	if len(s.Secret) == 0 {
		return "", errors.New("feedback links: no secret configured")
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", ErrInvalidLink
	}
	got, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return "", ErrInvalidLink
	}
	raw, err := enc.DecodeString(payload)
	if err != nil || len(raw) == 0 {
		return "", ErrInvalidLink
	}
	// Base64 decoding skips line breaks: accept only the one canonical token.
	if s.Token(message.Key(raw)) != token {
		return "", ErrInvalidLink
	}
	return message.Key(raw), nil
}

func (s LinkSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("daifuku-feedback-v1\x00" + payload)) // never valid as an unsubscribe token
	return m.Sum(nil)
}
