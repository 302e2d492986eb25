package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/internal/token"
)

func init() {
	register(&cli.Command{
		Name:  "token",
		Usage: "mint a short-lived authentication token (a stand-in for ElastiCache/MemoryDB IAM auth)",
		Description: "Prints a token that `AUTH <user> <token>` accepts until it expires, on a server started with\n" +
			"--token-key-file pointing at the same key, for users that carry the \"token\" ACL rule:\n\n" +
			"  kvlab token --new-key --key-file token.key\n" +
			"  kvlab serve --token-key-file token.key --aclfile users.acl   # users.acl: user app on token ~* &* +@all\n" +
			"  redis-cli --user app --pass \"$(kvlab token --user app --ttl 15m --key-file token.key)\" PING",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "user", Usage: "the ACL user the token is for"},
			&cli.DurationFlag{Name: "ttl", Value: 15 * time.Minute, Usage: "how long the token stays valid (IAM tokens last 15m)"},
			&cli.StringFlag{Name: "key-file", Required: true, Usage: "HMAC key file shared with the server"},
			&cli.BoolFlag{Name: "new-key", Usage: "create a new random key in --key-file (mode 0600) instead of minting a token"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("new-key") {
				if err := token.NewKeyFile(c.String("key-file")); err != nil {
					return cli.Exit(err.Error(), 1)
				}
				fmt.Fprintf(c.App.Writer, "wrote a new key to %s\n", c.String("key-file"))
				return nil
			}
			user := c.String("user")
			if user == "" {
				return cli.Exit("kvlab token: --user is required", 2)
			}
			if c.Duration("ttl") <= 0 {
				return cli.Exit("kvlab token: --ttl must be positive", 2)
			}
			key, err := token.LoadKey(c.String("key-file"))
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			fmt.Fprintln(c.App.Writer, token.Mint(key, user, time.Now().Add(c.Duration("ttl"))))
			return nil
		},
	})
}
