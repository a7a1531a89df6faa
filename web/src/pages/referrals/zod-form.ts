// One zod schema per form (house style): antd shows each field's verdict as the user types, from the same schema that
// checks the whole form on submit and turns it into the request body.
import type { FormInstance, FormItemProps } from 'antd';
import type { z } from 'zod';

type Rule = NonNullable<FormItemProps['rules']>[number];

/** Field messages in the schema are i18n keys of the form's namespace; `translate` renders them. */
export function zodRule(schema: z.ZodType, translate: (key: string) => string): Rule {
  return {
    validator: async (_, value: unknown) => {
      const result = schema.safeParse(value);
      if (!result.success) throw new Error(translate(result.error.issues[0]?.message ?? 'invalid'));
    },
  };
}

/** Checks the whole form; on failure marks every offending field and returns null. */
export function parseForm<S extends z.ZodType>(
  form: FormInstance,
  schema: S,
  values: unknown,
  translate: (key: string) => string,
): z.infer<S> | null {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  form.setFields(result.error.issues.map((issue) => ({ name: issue.path as (string | number)[], errors: [translate(issue.message)] })));
  return null;
}
