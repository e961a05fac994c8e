// Command schedule runs the scheduled tasks: the daily follow-up run, the
// hourly release of deferred messages and the monthly report (EventBridge Scheduler).
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
	lambda.Start(a.Tasks)
}
