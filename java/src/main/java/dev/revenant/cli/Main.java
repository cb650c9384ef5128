package dev.revenant.cli;

import dev.revenant.Settings;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code revenant} command line. The only place that calls {@code System.exit}. */
@Command(name = "revenant", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Does the knowledge an unlearned LLM forgot come back when it is quantized?",
        subcommands = {InspectCommand.class, TokenizeCommand.class, QuantizeCommand.class, EvalCommand.class, SweepCommand.class, RougeCommand.class, AucCommand.class, LogitsCommand.class, GenerateCommand.class, SynthCommand.class,
                BenchCommand.class, CudaCommand.class, DemoCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("revenant " + cmd.getCommandName() + ": " + message(ex));
            if (Settings.debug()) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl.execute(args);
    }

    private static String message(Throwable ex) {
        String m = ex.getMessage();
        return m == null ? ex.toString() : m;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"revenant " + Settings.version() + " (Java " + Runtime.version() + ")"};
        }
    }
}
