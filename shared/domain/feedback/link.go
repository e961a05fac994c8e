package feedback

import (
	"errors"
	"strings"

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

// answerLabel keeps answer tokens apart from the other tokens made with the same secret.
const answerLabel = "daifuku-answer-v1"

// AnswerToken is the token of the link that gives one answer to a message's question.
func (s LinkSigner) AnswerToken(key message.Key, question, value string) string {
	return token.Sign(s.Secret, answerLabel, []byte(string(key)+"\x00"+question+"\x00"+value))
}

// CheckAnswer returns the answer an answer token gives.
func (s LinkSigner) CheckAnswer(tok string) (Postback, error) {
	if len(s.Secret) == 0 {
		return Postback{}, errors.New("feedback links: no secret configured")
	}
	raw, err := token.Open(s.Secret, answerLabel, tok)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Postback{}, ErrInvalidLink
	}
	return AnswerPostback(message.Key(parts[0]), parts[1], parts[2]), nil
}
