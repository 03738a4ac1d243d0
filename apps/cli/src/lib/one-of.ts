/**
 * Flag settings limiting a string flag to some values, checked by the flag's own `parse` so that a wrong value is a
 * usage error (exit 2) with the list of accepted values.
 */
export function oneOf(values: readonly string[]) {
  return {
    helpValue: values.join('|'),
    parse: async (input: string) => {
      if (!values.includes(input)) throw new Error(`Expected one of: ${values.join(', ')}`);
      return input;
    },
  };
}
