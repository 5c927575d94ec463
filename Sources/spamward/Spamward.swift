import ArgumentParser

@main
struct Spamward: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spamward",
        abstract: "Spamward: a spam filter for Linux mail servers.",
        discussion: """
            Scores mail with a statistical learner plus rules and explains every verdict.
            Exit codes of `check`: 0 ham, 1 spam, 2 unsure, 64 usage error, 74 I/O error.
            """,
        version: SpamwardVersion.string,
        subcommands: [
            Check.self, Learn.self, Eval.self, Stats.self, Serve.self, Edge.self, ConfigCommand.self, RulesCommand.self, Bench.self,
            TrainStarter.self, Auth.self, DKIM.self, Campaigns.self, Botnet.self,
        ],
        defaultSubcommand: nil
    )
}

enum SpamwardVersion {
    static let string = "0.1.0"
}
