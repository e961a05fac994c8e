// Command webhook applies the webhook batches the API stored (SQS): LINE
// events, SendGrid events and email replies, each once.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/daifuku/daifuku/shared/edge/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(a.ApplyWebhooks())
}
