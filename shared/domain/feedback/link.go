package feedback

import (
	"errors"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/token"
)

// ErrInvalidLink means a feedback link was not made with this secret.
var ErrInvalidLink = errors.New("invalid feedback link")

// LinkSigner makes and checks the tokens of the rating links in feedback
// emails: the token names the message, the signature proves daifuku made it,
// so the customer answers without logging in.
type LinkSigner struct{ Secret []byte }

// linkLabel keeps feedback tokens apart from unsubscribe tokens made with the same secret.
const linkLabel = "daifuku-feedback-v1"

// Token is the token of the feedback links of a message.
func (s LinkSigner) Token(key message.Key) string {
	return token.Sign(s.Secret, linkLabel, []byte(key))
}

// Check returns the message a token names.
func (s LinkSigner) Check(tok string) (message.Key, error) {
	if len(s.Secret) == 0 {
		return "", errors.New("feedback links: no secret configured")
	}
	raw, err := token.Open(s.Secret, linkLabel, tok)
	if err != nil || len(raw) == 0 {
		return "", ErrInvalidLink
	}
	return message.Key(raw), nil
}
