import { confirm, input, select } from "@inquirer/prompts";

/** One value the tool needs: the flag that gives it, the question that asks for it, its default if it has one. */
export interface Question<T> {
  flag: string;
  message: string;
  default?: T;
}

/** How the tool gets a value no flag gave: prompts, the defaults (--yes), or a refusal. */
export interface Ask {
  choose<T extends string>(question: Question<T> & { choices: readonly T[] }): Promise<T>;
  /** `check` returns what is wrong with an answer, or undefined when it is fine. */
  text(question: Question<string> & { check: (value: string) => string | undefined }): Promise<string>;
  confirm(question: Question<boolean>): Promise<boolean>;
}

/** A value the tool could not get; the message names the flag that gives it. */
export class MissingValue extends Error {}

function defaultOf<T>(question: Question<T>): T {
  if (question.default === undefined)
    throw new MissingValue(`${question.flag} is required with --yes (it has no default)`);
  return question.default;
}

/** --yes: every default is accepted; a value without one fails, naming its flag. */
export const defaultsAsk: Ask = {
  choose: async (question) => defaultOf(question),
  text: async (question) => defaultOf(question),
  confirm: async (question) => defaultOf(question),
};

function refuse(question: Question<unknown>): never {
  throw new MissingValue(
    `${question.flag} is missing, and there is no terminal to ask: pass it, or --yes to accept defaults`,
  );
}

/** Without a terminal nothing can be asked, and defaults are accepted only with --yes. */
export const refusingAsk: Ask = {
  choose: async (question) => refuse(question),
  text: async (question) => refuse(question),
  confirm: async (question) => refuse(question),
};

/** Where the prompts read and write; the terminal by default. */
export interface PromptStreams {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** Asks on the terminal (or `streams`) with @inquirer/prompts, offering each default. */
export function promptAsk(streams: PromptStreams = {}): Ask {
  return {
    choose: (question) =>
      select(
        {
          message: question.message,
          choices: question.choices,
          ...(question.default === undefined ? {} : { default: question.default }),
        },
        streams,
      ),
    text: (question) =>
      input(
        {
          message: question.message,
          ...(question.default === undefined ? {} : { default: question.default }),
          required: true,
          validate: (value) => question.check(value.trim()) ?? true,
        },
        streams,
      ).then((value) => value.trim()),
    confirm: (question) =>
      confirm(
        {
          message: question.message,
          ...(question.default === undefined ? {} : { default: question.default }),
        },
        streams,
      ),
  };
}
